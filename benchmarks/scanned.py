"""Pages as office scanners and fax servers make them, with known text and distinctive words.

A Mincho face (Noto Serif CJK JP), A4, lines of mixed Japanese words, Latin words and figures;
then the page as it reaches the bucket: at 300 or 200 DPI with or without DPI metadata, turned
90/180/270 degrees, skewed 3-16 degrees (and 4 on a black platen), set vertically (columns right to left), mixed (a
horizontal header over a vertical body), or sealed (a colour JPEG with a company's square seal and
a person's round one pressed over their names, as on Japanese invoices and contracts; or the same
kind of page as a scanner set to grey saves it, ``sealed-grey``). Each page
carries three words of its own (a reference number or a place, a company, a person) so a search
for them finds exactly it: that is findability.
Used by ``benchmarks.geometry`` and by the tests of the page-geometry path.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

MINCHO = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
A4_PX = {300: (2480, 3508), 200: (1654, 2339)}
FONT_PT = 8.5  # body text of contracts and notices
COMPANIES = ("桜井製作所", "青葉電機", "北斗物産", "富士見建設", "東邦精機", "大和運輸", "山田商事", "丸の内興産",
             "朝日化成", "若葉食品", "白鳥海運", "紅葉不動産")
PEOPLE = ("佐藤花子", "鈴木一郎", "高橋美咲", "田中健", "伊藤さくら", "渡辺浩二", "小林直樹", "中村由美")
TERMS = ("秘密保持", "損害賠償", "契約期間", "支払条件", "再委託", "知的財産", "解除", "協議事項", "納品検査",
         "保証期間")
PLACES = ("千代田区丸の内", "大阪市北区梅田", "名古屋市中村区", "福岡市博多区", "札幌市中央区", "仙台市青葉区")
PARTICLES = ("は", "の", "を", "に", "と", "が", "により", "について")
KINDS = (
    "upright-300", "upright-300-nodpi", "upright-200", "upright-200-nodpi",
    "rotated-90", "rotated-180", "rotated-270", "skewed-3", "skewed-6", "skewed-10",
    "vertical", "mixed",
    "skewed-16", "platen-4",  # added last: the kinds before them draw the same pages for every seed
    "sealed",
    "sealed-grey",  # a sealed page as an office scanner set to grey saves it (added last, as above)
)

CER_BOUND = {"upright": 0.03, "rotated": 0.03, "skewed": 0.02, "platen": 0.02, "vertical": 0.05, "mixed": 0.10,
             "sealed": 0.03}


def cer_bound(kind: str) -> float:
    """The CER the tests allow a page of ``kind`` (``rotated-90`` -> the ``rotated`` bound)."""
    return CER_BOUND[kind.split("-")[0]]


@dataclass
class ScannedPage:
    """One generated page: its key, bytes, kind, the text on it and its distinctive words."""

    key: str
    data: bytes
    kind: str
    text: str
    words: tuple[str, ...]
    twin: bytes = b""  # a turned or skewed page as it was before: the same page upright

    @property
    def upright(self) -> bool:
        """Horizontal text, neither turned nor skewed."""
        return self.kind.startswith("upright")


@lru_cache(maxsize=8)
def mincho(size: int) -> ImageFont.FreeTypeFont:
    """Noto Serif CJK JP (Debian's fonts-noto-cjk) at ``size`` pixels."""
    return ImageFont.truetype(MINCHO, size, index=0)


def scanned_pages(kinds: tuple[str, ...] = KINDS, seed: int = 11, lines: int = 24, prefix: str = "scans/") -> list:
    """One page of each kind (``lines`` lines of body text), with its own words."""
    rng = random.Random(seed)
    return [make_page(kind, 40000 + rng.randrange(59999), rng, lines, prefix) for kind in kinds]


def bench_docs(seed: int, lines: int = 24) -> list:
    """One page of each kind as the harness's documents (keys under ``bench/scans/``): searched by
    its company (and person) in ``text.ja`` and its number, when it has one, in ``text``."""
    from benchmarks.corpus import BenchDoc, Query

    docs = []
    for page in scanned_pages(seed=seed, lines=lines, prefix="bench/scans/"):
        numbers = tuple(w for w in page.words if w.isdigit())
        japanese = " ".join(w for w in page.words if not w.isdigit())
        docs.append(BenchDoc(page.key, page.data, f"scanned-{page.kind}", [page.text], Query(japanese, numbers),
                             clean=page.upright))
    return docs


def make_page(kind: str, number: int, rng: random.Random, lines: int, prefix: str) -> ScannedPage:
    """The page of ``kind`` whose reference number is ``number``."""
    company, person, place = rng.choice(COMPANIES), rng.choice(PEOPLE), rng.choice(PLACES)
    dpi = 200 if "-200" in kind else 300
    if kind == "vertical":
        columns = vertical_columns(rng, (company, person, place), max(6, lines // 2))
        image = vertical_page(columns, dpi)
        return ScannedPage(f"{prefix}vertical-{number}.png", png(image, dpi), kind, "".join(columns),
                           (company, person, place))
    if kind == "mixed":
        header = [f"通知書 Notice No. {number}", f"{company} 御中", "2024年5月1日"]
        columns = vertical_columns(rng, (company, person), max(5, lines // 3), height=2 / 3)
        image = vertical_page(columns, dpi, top_fraction=0.25)
        draw_lines(image, header, dpi)
        return ScannedPage(f"{prefix}mixed-{number}.png", png(image, dpi), kind, "\n".join(header) + "".join(columns),
                           (str(number), company, person))
    body = horizontal_lines(rng, number, company, person, lines)
    image = Image.new("L", A4_PX[dpi], 255)
    draw_lines(image, body, dpi)
    words = (str(number), company, person)
    text = "\n".join(body)
    if kind.startswith("rotated-"):
        degrees = int(kind.split("-")[1])
        turned = image.rotate(degrees, expand=True)  # counter-clockwise, as a page fed the wrong way
        encoded = {180: pdf_scan, 270: tiff}.get(degrees, png)
        return ScannedPage(f"{prefix}{kind}-{number}.{_ext(degrees)}", encoded(turned, dpi), kind, text, words,
                           encoded(image, dpi))
    if kind.startswith(("skewed-", "platen-")):
        angle = int(kind.split("-")[1]) * rng.choice((1, -1))
        skewed = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        if kind.startswith("platen-"):  # on a flatbed with its lid open (or a scanner's black backing)
            skewed = ImageOps.expand(skewed, round(dpi / 2), fill=15)
        return ScannedPage(f"{prefix}{kind}-{number}.png", png(skewed, dpi), kind, text, words, png(image, dpi))
    if kind in ("sealed", "sealed-grey"):
        data = sealed_scan(image, body[1], company, person, dpi, rng, grey=kind == "sealed-grey")
        return ScannedPage(f"{prefix}{kind}-{number}.jpg", data, kind, text, words)
    with_dpi = not kind.endswith("-nodpi")
    data = jpeg(image, dpi) if kind == "upright-200" else png(image, dpi if with_dpi else None)
    return ScannedPage(f"{prefix}{kind}-{number}.{'jpg' if kind == 'upright-200' else 'png'}", data, kind, text, words)


def horizontal_lines(rng: random.Random, number: int, company: str, person: str, count: int) -> list[str]:
    """Contract-like lines: clause, Japanese terms, a Latin phrase and figures on each."""
    out = [f"業務委託契約書 Contract No. {number}", f"委託者 {company} 代表 {person}"]
    for n in range(1, count - 1):
        term, other = rng.sample(TERMS, 2)
        out.append(f"第{n}条 {term}{rng.choice(PARTICLES)}{other} Article {n} fee ¥{rng.randint(1, 99)},"
                   f"{rng.randint(100, 999)} 期日 {rng.randint(1, 12)}月{rng.randint(1, 28)}日")
    return out[:count]


def vertical_columns(rng: random.Random, names: tuple[str, ...], count: int, height: float = 1.0) -> list[str]:
    """Columns of a vertical notice, each of ``names`` opening one of them (the 2nd, 4th, ...)."""
    chars = int(34 * height)
    columns = []
    for n in range(count):
        column = f"{names[n // 2]}{rng.choice(PARTICLES)}" if n % 2 and n // 2 < len(names) else ""
        while len(column) < chars:
            column += rng.choice(TERMS) + rng.choice(PARTICLES)
        columns.append(column[:chars])
    return columns


def font_px(dpi: int, points: float = FONT_PT) -> int:
    """Font size in pixels for ``points`` at ``dpi``."""
    return round(points * dpi / 72)


def draw_lines(image: Image.Image, lines: list[str], dpi: int, points: float = FONT_PT, face=None) -> None:
    """Horizontal lines from the top-left margin, 1.5 lines apart, at ``points`` in ``face`` (a
    function of the pixel size; the Mincho face by default)."""
    size = font_px(dpi, points)
    font = (face or mincho)(size)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((round(dpi * 0.6), round(dpi * 0.6) + round(i * size * 1.5)), line, font=font, fill=0)


def vertical_page(columns: list[str], dpi: int, top_fraction: float = 0.0) -> Image.Image:
    """An A4 page with the columns set top to bottom, right to left."""
    page = Image.new("L", A4_PX[dpi], 255)
    size = font_px(dpi, 11)
    draw = ImageDraw.Draw(page)
    x = page.width - round(dpi * 0.6) - size
    top = round(dpi * 0.6 + page.height * top_fraction)
    for column in columns:
        for j, char in enumerate(column):
            draw.text((x, top + round(j * size * 1.1)), char, font=mincho(size), fill=0)
        x -= round(size * 1.8)
    return page


SEAL_INK = (215, 45, 40)  # vermilion seal ink (朱肉)
SEAL_INKS = (SEAL_INK, (190, 30, 50), (230, 85, 45), (225, 125, 130))  # vermilion, crimson, orange, a pale pad
SEAL_MM = 21  # a company's square seal (角印); a person's round one (認印) is ~10.5
SEAL_FACE = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"


def sealed_scan(image: Image.Image, line: str, company: str, person: str, dpi: int, rng: random.Random,
                grey: bool = False) -> bytes:
    """The grey page in colour with the company's square seal pressed over ``company`` and the
    person's round seal over ``person``, both on ``line`` (the body's second line, as
    :func:`draw_lines` sets it), as a colour JPEG. Drawn from ``rng``: each seal's ink (of
    ``SEAL_INKS``), size (square 18-24 mm, round 9.5-12), turn (up to 8 degrees either way: seals
    are pressed by hand) and how evenly it took (a faint impression loses up to a quarter of its
    ink here and there). Seal ink multiplies with the black under it, as ink over toner does.
    ``grey``: saved in grey (its luminance), as a scanner set to grey scans the page."""
    import numpy as np

    font = mincho(font_px(dpi))
    draw = ImageDraw.Draw(image)
    page = np.repeat(np.asarray(image, dtype=np.float64)[:, :, None] / 255, 3, axis=2)
    middle_y = round(dpi * 0.6) + round(1.5 * font.size) + font.size // 2
    for name, square, (low_mm, high_mm) in ((company, True, (18, 24)), (person, False, (9.5, 12))):
        size = round(rng.uniform(low_mm, high_mm) * dpi / 25.4)
        seal = (company_seal if square else personal_seal)(size, name, rng.choice(SEAL_INKS))
        seal = seal.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BICUBIC, expand=True)
        start = round(dpi * 0.6) + draw.textlength(line[:line.index(name)], font=font)
        middle_x = round(start + draw.textlength(name, font=font) / 2)
        _press(page, np.asarray(seal, dtype=np.float64) / 255, middle_x, middle_y, rng)
    buf = io.BytesIO()
    scan = Image.fromarray((page * 255).round().astype(np.uint8), "RGB")
    (scan.convert("L") if grey else scan).save(buf, format="JPEG", quality=85, dpi=(dpi, dpi))
    return buf.getvalue()


def _press(page, seal, middle_x: int, middle_y: int, rng: random.Random) -> None:
    """Multiply the RGBA ``seal`` (0-1) into ``page`` (RGB, 0-1) centred at the point, its ink
    taken unevenly (blotches of a quarter less ink)."""
    import numpy as np

    height, width = seal.shape[:2]
    top, left = middle_y - height // 2, middle_x - width // 2
    noise = np.random.default_rng(rng.randrange(2**32)).random((height // 8 + 1, width // 8 + 1))
    evenness = 1 - 0.25 * np.kron(noise, np.ones((8, 8)))[:height, :width, None]
    alpha = seal[:, :, 3:4] * evenness
    page[top:top + height, left:left + width] *= (1 - alpha) + alpha * seal[:, :, :3]


def company_seal(size: int, company: str, ink: tuple[int, int, int] = SEAL_INK) -> Image.Image:
    """A square seal of ``size`` pixels (RGBA): a border and four characters in two columns, the
    company's first two and 之印, in seal ink."""
    seal = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(seal)
    border = max(3, size // 22)
    draw.rectangle((border, border, size - border, size - border), outline=(*ink, 255), width=border)
    char = size // 3
    face = ImageFont.truetype(SEAL_FACE, char, index=0)
    right, left, upper, lower = size // 2 + char // 8, size // 8, size // 8, size // 2
    for glyph, at in zip(company[:2] + "之印", ((right, upper), (right, lower), (left, upper), (left, lower)),
                         strict=True):
        draw.text(at, glyph, font=face, fill=(*ink, 235))
    return seal


def personal_seal(size: int, person: str, ink: tuple[int, int, int] = SEAL_INK) -> Image.Image:
    """A round seal of ``size`` pixels (RGBA): a ring and the person's family name (its first two
    characters) set top to bottom, in seal ink."""
    seal = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(seal)
    ring = max(2, size // 16)
    draw.ellipse((ring, ring, size - ring, size - ring), outline=(*ink, 255), width=ring)
    char = round(size * 0.36)
    face = ImageFont.truetype(SEAL_FACE, char, index=0)
    for n, glyph in enumerate(person[:2]):
        draw.text(((size - char) // 2, round(size * 0.12) + n * char), glyph, font=face, fill=(*ink, 235))
    return seal


def png(image: Image.Image, dpi: int | None) -> bytes:
    """PNG bytes, with a pHYs chunk when ``dpi`` is given."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return buf.getvalue()


def jpeg(image: Image.Image, dpi: int) -> bytes:
    """JPEG bytes (quality 85) with the DPI in its JFIF header."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85, dpi=(dpi, dpi))
    return buf.getvalue()


def tiff(image: Image.Image, dpi: int) -> bytes:
    """A 1-bit CCITT G4 TIFF, as fax servers write."""
    buf = io.BytesIO()
    image.point(lambda v: 255 if v > 160 else 0).convert("1").save(buf, format="TIFF", compression="group4",
                                                                   dpi=(dpi, dpi))
    return buf.getvalue()


def pdf_scan(image: Image.Image, dpi: int) -> bytes:
    """An image-only PDF at ``dpi``, as scanners write."""
    buf = io.BytesIO()
    image.save(buf, format="PDF", resolution=float(dpi))
    return buf.getvalue()


def _ext(degrees: int) -> str:
    return {90: "png", 180: "pdf", 270: "tif"}[degrees]
