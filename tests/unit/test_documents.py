"""Bytes to pages: types by magic bytes, caps, and a readable permanent error for bad input."""

from __future__ import annotations

import pytest
from PIL import Image

from pipeline import errors
from pipeline.documents import OpenedDocument, sniff
from pipeline.samples import encode, render_page, text_layer_pdf
from tests import inputs

CAPS = {"max_pixels": 40_000_000, "max_pages": 100, "dpi": 150}


def opened(data: bytes, **caps: int) -> OpenedDocument:
    return OpenedDocument(data, **{**CAPS, **caps})


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP", "PDF"])
def test_sniff_by_bytes_not_name(fmt: str) -> None:
    data = encode(render_page(["x"]).convert("RGB"), fmt)
    kind = sniff(data)
    assert kind == {"JPEG": "jpeg"}.get(fmt, fmt.lower())
    with opened(data) as doc:
        assert doc.page_count == 1
        page = doc.page(1)
        assert page.image is not None and page.image.width > 0


def test_multi_page_tiff_and_pdf() -> None:
    pages = [render_page([f"page {i}"]) for i in range(3)]
    for fmt in ("TIFF", "PDF"):
        with opened(encode(pages, fmt)) as doc:
            assert doc.page_count == 3
            assert [p.page for p in doc.pages()] == [1, 2, 3]


def test_pdf_text_layer_needs_no_ocr() -> None:
    with opened(text_layer_pdf(["A page that carries its own text layer"])) as doc:
        page = doc.page(1)
    assert page.image is None
    assert "carries its own text layer" in page.text


def test_transparent_image_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    with opened(encode(image, "PNG")) as doc:
        frame = doc.page(1).image
    assert frame.mode == "RGB" and frame.getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", errors.EmptyObject, "zero bytes"),
        (inputs.NOT_AN_IMAGE, errors.UnsupportedType, "not a supported"),
        (inputs.ZIP_FILE, errors.UnsupportedType, "not a supported"),
        (inputs.truncated(inputs.png_page()), errors.CorruptDocument, ""),
        (inputs.truncated(encode(render_page(["x"]).convert("RGB"), "JPEG")), errors.CorruptDocument, ""),
        (inputs.png_claiming(50_000, 50_000), errors.ImageTooLarge, "pixels"),
        (inputs.png_claiming(200_000, 200_000), errors.ImageTooLarge, ""),
        (inputs.gif_extent_bomb(), errors.ImageTooLarge, ""),
        (inputs.encrypted_pdf(), errors.EncryptedDocument, "encrypted"),
        (inputs.MALFORMED_PDF, errors.CorruptDocument, "PDF"),
        (inputs.many_pages_pdf(150), errors.TooManyPages, "150 pages"),
    ],
    ids=["empty", "text", "zip", "png-trunc", "jpeg-trunc", "50k", "bomb", "gif-extent", "encrypted",
         "malformed-pdf", "too-many-pages"],
)
def test_bad_input_is_a_permanent_error_with_a_reason(data: bytes, error: type, words: str) -> None:
    with pytest.raises(errors.PermanentError) as err, opened(data) as doc:
        for _ in doc.pages():
            pass
    assert isinstance(err.value, error), err.value
    assert words in err.value.reason
    assert not err.value.retryable


def test_huge_pdf_page_is_rendered_under_the_pixel_cap() -> None:
    import io

    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(14400, 14400)  # 200 x 200 inches: 900 Mpx at 150 dpi
    buf = io.BytesIO()
    pdf.save(buf)
    with opened(buf.getvalue(), max_pixels=4_000_000) as doc:
        page = doc.page(1)
    assert page.image.width * page.image.height <= 4_000_000
    assert "instead of 150" in page.warning


def test_a_page_beyond_the_colour_budget_is_rendered_grey_directly() -> None:
    import io

    import pypdfium2 as pdfium

    from pipeline.documents import COLOUR_RENDER_MAX_PIXELS

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(1296, 1728)  # 18 x 24 inches, a drawing: 38.9 Mpx at 300 dpi
    buf = io.BytesIO()
    pdf.save(buf)
    with opened(buf.getvalue(), max_pixels=60_000_000, dpi=300) as doc:
        image = doc.page(1).image
    assert image.mode == "L" and image.size[0] == 5400 and abs(image.size[1] - 7200) <= 1
    assert image.width * image.height > COLOUR_RENDER_MAX_PIXELS
