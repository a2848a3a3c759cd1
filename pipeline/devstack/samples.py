"""Generated sample documents with known text: Japanese+English pages rendered with a CJK font,
a multi-page TIFF and PDF, a PDF with a text layer, and one corrupt file."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from pipeline.errors import ConfigError

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
)

INVOICE = ["請求書 No. 2024-0815", "株式会社サンプル 御中", "合計金額 ¥128,400", "Invoice total 128,400 JPY"]
CONTRACT = ["業務委託契約書", "第3条 秘密保持", "Confidentiality applies to both parties.", "東京都千代田区丸の内"]
FAX = ["送付状 FAX", "宛先 大阪支店 営業部", "Pages: 2 including cover"]
FAX_2 = ["見積書の件", "納期は来月末です", "Delivery by end of next month"]
DRAWING = ["図面番号 A-1024", "縮尺 1:50", "Drawing revision C"]
TEXT_LAYER = ["Quarterly report for the search team", "Text layer page, no OCR needed"]


@dataclass(frozen=True)
class Sample:
    """One generated document: its S3 key, bytes, and the text a reader should find."""

    key: str
    data: bytes
    expected: tuple[str, ...]
    corrupt: bool = False


@lru_cache(maxsize=4)
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """A font that has Japanese glyphs (Debian's fonts-noto-cjk)."""
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    raise ConfigError("no CJK font found; install Debian's fonts-noto-cjk")


def render_page(lines: list[str] | tuple[str, ...], width: int = 1200, font_size: int = 40) -> Image.Image:
    """A white grayscale page with the lines in black (about 300 DPI text at ``font_size`` 40)."""
    font = cjk_font(font_size)
    line_height = int(font_size * 1.8)
    height = line_height * (len(lines) + 2)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((font_size, line_height * (i + 1)), line, font=font, fill=0)
    return page


def encode(image: Image.Image | list[Image.Image], fmt: str) -> bytes:
    """Encode one image (or several, for TIFF/PDF) in ``fmt``."""
    images = image if isinstance(image, list) else [image]
    buf = io.BytesIO()
    extra = {"save_all": True, "append_images": images[1:]} if len(images) > 1 else {}
    if fmt == "PDF":
        extra["resolution"] = 300.0
    images[0].save(buf, format=fmt, **extra)
    return buf.getvalue()


def text_layer_pdf(lines: list[str] | tuple[str, ...]) -> bytes:
    """A one-page PDF whose text is a real text layer (no OCR needed)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    y = 800
    for line in lines:
        pdf.drawString(72, y, line)
        y -= 24
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def sample_documents(prefix: str = "incoming/") -> list[Sample]:
    """The demo's documents; the last is corrupt on purpose (a truncated JPEG)."""
    contract_jpeg = encode(render_page(CONTRACT).convert("RGB"), "JPEG")
    return [
        Sample(f"{prefix}請求書 2024-0815.png", encode(render_page(INVOICE), "PNG"), tuple(INVOICE)),
        Sample(f"{prefix}contracts/業務委託契約書+v2.jpg", contract_jpeg, tuple(CONTRACT)),
        Sample(f"{prefix}fax/送付状 (2 pages).tiff", encode([render_page(FAX), render_page(FAX_2)], "TIFF"),
               tuple(FAX + FAX_2)),
        Sample(f"{prefix}drawings/A-1024 rev C.pdf", encode([render_page(DRAWING), render_page(FAX_2)], "PDF"),
               tuple(DRAWING + FAX_2)),
        Sample(f"{prefix}reports/q3 report.pdf", text_layer_pdf(TEXT_LAYER), tuple(TEXT_LAYER)),
        Sample(f"{prefix}scans/broken 100%.jpg", contract_jpeg[: len(contract_jpeg) // 3], (), corrupt=True),
    ]
