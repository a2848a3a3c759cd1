"""Generated inputs for tests: pages with known text and hostile files of every kind we refuse."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from pipeline.devstack.samples import encode, render_page

KNOWN_LINES = ["請求書 No. 2024-0815", "株式会社サンプル 御中", "合計金額 ¥128,400", "Invoice total 128,400 JPY"]


def png_page(lines: list[str] | None = None) -> bytes:
    """A PNG page with known text."""
    return encode(render_page(lines or KNOWN_LINES), "PNG")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def gif_extent_bomb() -> bytes:
    """A GIF whose logical screen is 65535 x 65535 around a 1x1 frame."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def truncated(data: bytes, keep: float = 0.4) -> bytes:
    """The first ``keep`` share of ``data``."""
    return data[: int(len(data) * keep)]


def encrypted_pdf() -> bytes:
    """A PDF that needs a password to open."""
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    enc = pdfencrypt.StandardEncryption("user-secret", canPrint=0)
    pdf = canvas.Canvas(buf, encrypt=enc)
    pdf.drawString(72, 720, "secret")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def many_pages_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` blank pages (built fast with pypdfium2)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(200, 200)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()


def image_xobject_pdf(image: Image.Image, image_keys: str, width_pt: int = 595, height_pt: int = 842) -> bytes:
    """A one-page PDF written by hand: ``image`` (grey, Flate) drawn over the page, with
    ``image_keys`` added to its dictionary (``/Decode [1 0]``, ``/ImageMask true`` ...)."""
    bits = 1 if image.mode == "1" else 8
    colour = "" if "/ImageMask" in image_keys else "/ColorSpace /DeviceGray "
    pixels = zlib.compress(image.tobytes())
    content = f"q {width_pt} 0 0 {height_pt} 0 0 cm /Im0 Do Q".encode()
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt} {height_pt}] "
        "/Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>".encode(),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        f"<< /Type /XObject /Subtype /Image /Width {image.width} /Height {image.height} {colour}"
        f"/BitsPerComponent {bits} {image_keys} /Filter /FlateDecode /Length {len(pixels)} >>".encode()
        + b"\nstream\n" + pixels + b"\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)


MALFORMED_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
NOT_AN_IMAGE = b"This is a text file that someone named invoice.png\n" * 10
ZIP_FILE = b"PK\x03\x04" + b"\x00" * 60


def read_through(stage, key: str, data: bytes):
    """The document the stage makes of ``data`` as object ``key`` (as a worker hands it the bytes)."""
    from pipeline.models import FetchedObject, Job

    return stage.process_fetched(Job("b", key), FetchedObject(data, len(data), "etag", "", 0.0))
