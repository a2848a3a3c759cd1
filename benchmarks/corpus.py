"""Generated documents with known text: Japanese+English invoices and forms on A4 pages at 300 DPI,
a multi-page contract PDF, and optional degraded scans (noise, skew, heavy JPEG, 200 DPI).

Every document carries a number of its own so that a search for a few of its words (a Japanese
word, an English word, that number) can find exactly it: that is how findability is measured.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field

from PIL import Image, ImageFilter

from pipeline.devstack.samples import encode, render_page

A4_300 = (2480, 3508)
A4_200 = (1654, 2339)
FONT_300 = 40  # about 10 pt at 300 DPI
FONT_200 = 27
QUICK_WIDTH = 900
QUICK_FONT = 30

COMPANIES = ("サンプル", "山田商事", "東邦精機", "北斗物産", "青葉電機", "富士見建設", "桜井製作所", "大和運輸")
ITEMS = ("ボルト M8", "配線ケーブル", "制御基板", "梱包資材", "保守作業費", "設計費", "出張費", "検査費")
NAMES = ("山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健", "伊藤 さくら")
CITIES = ("東京都千代田区丸の内", "大阪府大阪市北区梅田", "愛知県名古屋市中村区", "福岡県福岡市博多区")
DEGRADATIONS = ("noise", "skew", "jpeg", "dpi200")


@dataclass(frozen=True)
class Query:
    """Words that should find a document: Japanese (searched in ``text.ja``) and English/numbers."""

    ja: str
    en: tuple[str, ...]


@dataclass
class BenchDoc:
    """One generated object: key, bytes, the text of each page, its kind and its search words."""

    key: str
    data: bytes
    kind: str
    pages: list[str]
    query: Query
    clean: bool = True
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def page_count(self) -> int:
        """Pages in the document."""
        return len(self.pages)


def invoice_lines(number: int, rng: random.Random) -> list[str]:
    """A Japanese+English invoice whose number is ``number``."""
    items = rng.sample(ITEMS, 6)
    qty = [rng.randint(1, 40) for _ in items]
    price = [rng.randint(3, 90) * 100 for _ in items]
    total = sum(q * p for q, p in zip(qty, price, strict=True))
    lines = [f"請求書 No. {number}", f"株式会社{rng.choice(COMPANIES)} 御中", f"発行日 2024年{rng.randint(1, 12)}月"
             f"{rng.randint(1, 28)}日", "下記の通りご請求申し上げます。"]
    lines += [f"{item} 数量 {q} 単価 ¥{p:,}" for item, q, p in zip(items, qty, price, strict=True)]
    lines += [f"合計金額 ¥{total:,}", f"Invoice {number} total {total:,} JPY", "Payment due within 30 days",
              "振込先 みずほ銀行 本店営業部", "お支払いは請求書発行日から30日以内にお願いいたします。",
              "Please quote the invoice number with your payment.",
              "本請求書に関するお問い合わせは経理部までご連絡ください。"]
    return lines


def form_lines(number: int, rng: random.Random) -> list[str]:
    """A Japanese+English application form whose reference is ``number``."""
    return [
        "申込書 Application Form", f"受付番号 Reference {number}", f"氏名 Name: {rng.choice(NAMES)}",
        f"住所 {rng.choice(CITIES)} {rng.randint(1, 9)}-{rng.randint(1, 30)}",
        f"電話 Phone: 03-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        f"申込日 2024年{rng.randint(1, 12)}月{rng.randint(1, 28)}日", "サービス利用を申し込みます。",
        "Signature of the applicant", "担当者確認欄",
    ]


def contract_pages(number: int, rng: random.Random, pages: int) -> list[list[str]]:
    """A multi-page Japanese+English contract whose number is ``number``."""
    out = [["業務委託契約書", f"契約番号 Contract {number}", f"株式会社{rng.choice(COMPANIES)}(以下「甲」という)",
            "第1条 目的", "甲は乙に対し業務を委託する。", "This agreement sets out the services."]]
    for n in range(2, pages + 1):
        out.append([f"第{n}条 秘密保持", "乙は業務上知り得た情報を第三者に開示しない。",
                    "Confidentiality applies to both parties.", f"契約番号 {number} 第{n}頁"])
    return out


def compose(lines: list[str], size: tuple[int, int] | None, font_size: int) -> Image.Image:
    """The lines rendered onto a white page of ``size`` (A4 at some DPI), or a tight page if None."""
    if size is None:
        return render_page(lines, width=QUICK_WIDTH, font_size=font_size)
    block = render_page(lines, width=size[0] - 4 * font_size, font_size=font_size)
    page = Image.new("L", size, 255)
    page.paste(block, (2 * font_size, 3 * font_size))
    return page


def degrade(image: Image.Image, how: str, rng: random.Random) -> tuple[Image.Image, str]:
    """A degraded scan of ``image``: salt-and-pepper noise, a 2° skew, or heavy JPEG (format returned)."""
    if how == "noise":
        noisy = image.copy()
        px = noisy.load()
        for _ in range(image.width * image.height // 150):
            px[rng.randrange(image.width), rng.randrange(image.height)] = rng.choice((0, 255))
        return noisy.filter(ImageFilter.GaussianBlur(0.6)), "PNG"
    if how == "skew":
        return image.rotate(2.0, expand=True, fillcolor=255), "PNG"
    if how == "jpeg":
        return image, "JPEG"
    return image, "PNG"


def generate(pages: int, quick: bool = False, degraded: bool = True, seed: int = 7) -> list[BenchDoc]:
    """Documents totalling exactly ``pages`` pages: invoice, form, contract PDF, then one degraded scan, repeated."""
    rng = random.Random(seed)
    plan = [["invoice", "form", "contract"] + ([f"degraded-{d}"] if degraded else []) for d in DEGRADATIONS]
    kinds = [kind for cycle in plan for kind in cycle]
    docs: list[BenchDoc] = []
    total = 0
    while total < pages:
        kind = kinds[len(docs) % len(kinds)]
        number = 10000 + (len(docs) * 7919) % 89999
        length = 3 if len(docs) // len(plan[0]) % 2 == 0 else 2  # contracts of 3 pages (split over workers) and 2
        doc = _make(kind, number, rng, quick, min(length, pages - total))
        docs.append(doc)
        total += doc.page_count
    return docs


def _make(kind: str, number: int, rng: random.Random, quick: bool, room: int) -> BenchDoc:
    size, font = (None, QUICK_FONT) if quick else (A4_300, FONT_300)
    if kind == "contract" and room >= 2:
        texts = contract_pages(number, rng, room)
        data = encode([compose(t, size, font) for t in texts], "PDF")
        return BenchDoc(f"bench/contract-{number}.pdf", data, "contract-pdf", ["\n".join(t) for t in texts],
                        Query("契約番号", ("Contract", str(number))))
    if kind.startswith("degraded-"):
        how = kind.split("-", 1)[1]
        lines = invoice_lines(number, rng)
        if how == "dpi200":
            size, font = (None, QUICK_FONT * 2 // 3) if quick else (A4_200, FONT_200)
        image, fmt = degrade(compose(lines, size, font), how, rng)
        data = _encode(image, fmt)
        return BenchDoc(f"bench/scan-{how}-{number}.{fmt.lower()}", data, kind, ["\n".join(lines)],
                        Query("請求書", ("Invoice", str(number))), clean=False)
    if kind == "form":
        lines = form_lines(number, rng)
        return BenchDoc(f"bench/form-{number}.png", encode(compose(lines, size, font), "PNG"), "form",
                        ["\n".join(lines)], Query("申込書", ("Reference", str(number))))
    lines = invoice_lines(number, rng)
    return BenchDoc(f"bench/invoice-{number}.png", encode(compose(lines, size, font), "PNG"), "invoice",
                    ["\n".join(lines)], Query("請求書", ("Invoice", str(number))))


def _encode(image: Image.Image, fmt: str) -> bytes:
    if fmt != "JPEG":
        return encode(image, fmt)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=30)
    return buf.getvalue()


def expected_pages(docs: list[BenchDoc]) -> dict[tuple[str, int], str]:
    """Known text by (key, page number)."""
    return {(d.key, n): text for d in docs for n, text in enumerate(d.pages, 1)}
