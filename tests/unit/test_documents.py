"""Bytes to pages: types by magic bytes, caps, and a readable permanent error for bad input."""

from __future__ import annotations

import pytest
from PIL import Image

from pipeline import errors
from pipeline.devstack.samples import encode, render_page, text_layer_pdf
from pipeline.engine.documents import OpenedDocument, sniff
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

    from pipeline.engine.pdf import COLOUR_RENDER_MAX_PIXELS

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(1296, 1728)  # 18 x 24 inches, a drawing: 38.9 Mpx at 300 dpi
    buf = io.BytesIO()
    pdf.save(buf)
    with opened(buf.getvalue(), max_pixels=60_000_000, dpi=300) as doc:
        image = doc.page(1).image
    assert image.mode == "L" and image.size[0] == 5400 and abs(image.size[1] - 7200) <= 1
    assert image.width * image.height > COLOUR_RENDER_MAX_PIXELS


def _scan_pdf(image: Image.Image, resolution: float = 300.0, rotate: int = 0, extra: str = "") -> bytes:
    """A PDF as a scanner writes it (one image covering the page); ``extra`` adds what scanners do not."""
    import io

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    buf = io.BytesIO()
    image.save(buf, format="PDF", resolution=resolution)
    pdf = pdfium.PdfDocument(buf.getvalue())
    page = pdf[0]
    if rotate:
        page.set_rotation(rotate)
    if extra == "stamp":  # a second object: a filled square drawn over the scan
        square = pdfium_c.FPDFPageObj_CreateNewRect(40, 40, 60, 60)
        pdfium_c.FPDFPageObj_SetFillColor(square, 0, 0, 0, 255)
        pdfium_c.FPDFPath_SetDrawMode(square, pdfium_c.FPDF_FILLMODE_WINDING, False)
        page.insert_obj(pdfium.PdfObject(square))
    if extra == "annotation":
        pdfium_c.FPDFPage_CloseAnnot(pdfium_c.FPDFPage_CreateAnnot(page.raw, pdfium_c.FPDF_ANNOT_SQUARE))
    if extra == "mirrored":  # the same image drawn flipped by its matrix
        obj = next(iter(page.get_objects()))
        width, height = page.get_size()
        obj.set_matrix(pdfium.PdfMatrix(width, 0, 0, -height, 0, height))
    page.gen_content()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _scan_page_image() -> Image.Image:
    """An A4 page at 300 DPI with text near one corner, so a wrong rotation or flip shows."""
    page = Image.new("L", (2480, 3508), 255)
    page.paste(render_page(["請求書 No. 4711", "Invoice total 4,500 JPY"]), (120, 150))
    return page


def _rendered(data: bytes, dpi: int = 300) -> Image.Image:
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(data)[0]
    return page.render(scale=dpi / 72, rev_byteorder=True).to_pil().convert("L")


def _ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    return image.point(lambda v: 255 if v < 128 else 0).getbbox()


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    from PIL import ImageChops, ImageStat

    width, height = min(a.width, b.width), min(a.height, b.height)
    diff = ImageChops.difference(a.crop((0, 0, width, height)), b.crop((0, 0, width, height)))
    return ImageStat.Stat(diff).mean[0]


@pytest.mark.parametrize("mode", ["L", "1", "RGB"])
@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_a_scanned_pdf_page_is_its_own_image_not_a_render(mode: str, rotate: int) -> None:
    import pypdfium2 as pdfium

    from pipeline.engine.pdf import embedded_scan

    data = _scan_pdf(_scan_page_image().convert(mode), rotate=rotate)
    assert embedded_scan(pdfium.PdfDocument(data)[0], 300, 120_000_000) is not None  # the fast path is taken
    with opened(data, dpi=300) as doc:
        image = doc.page(1).image
    rendered = _rendered(data)
    assert image.mode == "L"
    assert abs(image.width - rendered.width) <= 1 and abs(image.height - rendered.height) <= 1
    assert _mean_difference(image, rendered) < 3  # the same pixels, one grey level apart (resampling)
    ink, rendered_ink = _ink_box(image), _ink_box(rendered)  # the text sits in one corner: same way up
    assert all(abs(a - b) <= 3 for a, b in zip(ink, rendered_ink, strict=True)), (ink, rendered_ink)


@pytest.mark.parametrize("case", ["stamp", "annotation", "mirrored", "200 dpi"])
def test_a_page_that_is_more_than_one_upright_scan_is_rendered(case: str) -> None:
    import pypdfium2 as pdfium

    from pipeline.engine.pdf import embedded_scan

    resolution = 200.0 if case == "200 dpi" else 300.0
    data = _scan_pdf(
        _scan_page_image().resize((1653, 2339)) if case == "200 dpi" else _scan_page_image(),
        resolution=resolution,
        extra=case,
    )
    assert embedded_scan(pdfium.PdfDocument(data)[0], 300, 120_000_000) is None
    with opened(data, dpi=300) as doc:
        image = doc.page(1).image
    assert _mean_difference(image, _rendered(data)) < 1  # exactly what the render gives


@pytest.mark.parametrize("case", ["grey, Decode inverted", "1-bit, Decode inverted", "image mask"])
def test_a_scan_reads_the_way_a_viewer_shows_it(case: str) -> None:
    """Decode arrays invert the stored pixels; an image mask is no scan at all (it is rendered)."""
    from PIL import ImageOps

    page = _scan_page_image()
    if case.startswith("1-bit"):
        page = page.point(lambda v: 255 if v >= 128 else 0).convert("1")
    stored = ImageOps.invert(page.convert("L")).convert(page.mode) if "inverted" in case else page.convert("1")
    keys = "/ImageMask true" if case == "image mask" else "/Decode [1 0]"
    data = inputs.image_xobject_pdf(stored, keys)
    with opened(data, dpi=300) as doc:
        image = doc.page(1).image
    assert _mean_difference(image, _rendered(data)) < 1
    if case != "image mask":
        assert _ink_box(image) == _ink_box(page.convert("L"))  # dark text on white, where it was written


_STORED_AS = {  # Orientation -> how a camera stores an upright page that carries it
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def _upright_page() -> Image.Image:
    """A portrait page with text near its top-left corner, so a page read sideways or flipped shows."""
    page = Image.new("L", (900, 1200), 255)
    page.paste(render_page(["請求書 No. 4711", "Invoice total 4,500 JPY"], width=800), (40, 60))
    return page


def _with_orientation(image: Image.Image, fmt: str, orientation: int | None = None, exif: bytes = b"",
                      **options: object) -> bytes:
    """``image`` saved in ``fmt`` with an EXIF block carrying ``orientation`` (or the raw ``exif``)."""
    import io

    if orientation is not None:
        tags = Image.Exif()
        tags[274] = orientation
        exif = tags.tobytes()
    buf = io.BytesIO()
    image.save(buf, fmt, exif=exif, **options)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "orientation"),
    [("JPEG", 6), ("JPEG", 8), ("JPEG", 3), ("JPEG", 5), ("PNG", 6), ("WEBP", 8)],
)
def test_a_page_stored_sideways_opens_as_a_viewer_shows_it(fmt: str, orientation: int) -> None:
    page = _upright_page()
    data = _with_orientation(page.transpose(_STORED_AS[orientation]), fmt, orientation, dpi=(300, 300))
    with opened(data) as doc:
        read = doc.page(1)
    assert read.image.size == page.size
    assert _mean_difference(read.image.convert("L"), page) < 3  # the same pixels, up to JPEG's loss
    ink, upright_ink = _ink_box(read.image.convert("L")), _ink_box(page)  # the text in its corner
    assert all(abs(a - b) <= 3 for a, b in zip(ink, upright_ink, strict=True)), (ink, upright_ink)
    assert read.warning == f"turned by its orientation tag ({orientation})"
    if fmt != "WEBP":  # WebP carries no DPI
        assert (read.dpi, read.dpi_source) == (300, "metadata")


def test_every_frame_of_a_tiff_is_turned_by_its_own_tag() -> None:
    page = _upright_page()
    frames = [page, page.transpose(_STORED_AS[6]), page.transpose(_STORED_AS[8])]
    for frame, orientation in zip(frames[1:], (6, 8), strict=True):
        frame.encoderinfo = {"tiffinfo": {274: orientation}}  # Pillow writes an appended frame's own tags
    with opened(encode(frames, "TIFF")) as doc:
        pages = list(doc.pages())
    assert [p.warning for p in pages] == ["", "turned by its orientation tag (6)", "turned by its orientation tag (8)"]
    assert all(p.image.size == page.size and _mean_difference(p.image, page) == 0 for p in pages)


@pytest.mark.parametrize("compression", ["raw", "group4"])  # Pillow's own decoder, and libtiff's
def test_a_fax_stored_sideways_swaps_its_dpi_before_its_pixels_are_made_square(compression: str) -> None:
    fax = Image.new("1", (1728, 1100), 1)  # 204 x 98 DPI upright: its rows are the fine axis
    fax.paste(0, (100, 100, 900, 140))
    data = _with_orientation(fax.transpose(_STORED_AS[6]), "TIFF", dpi=(98, 204), tiffinfo={274: 6},
                             compression=compression)
    with opened(data) as doc:
        read = doc.page(1)
    assert read.image.size == (1728, round(1100 * 204 / 98))
    assert read.warning == "turned by its orientation tag (6); pixels made square (204 x 98 dpi stretched to 204)"
    assert (read.dpi, read.dpi_source) == (204, "metadata")


@pytest.mark.parametrize(
    ("orientation", "exif"),
    [
        (0, b""),
        (99, b""),
        (None, b"Exif\x00\x00garbage, no TIFF header"),
        (None, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"),  # an IFD that claims 65535 entries
    ],
    ids=["orientation-0", "orientation-99", "garbage", "truncated-ifd"],
)
def test_a_broken_orientation_tag_leaves_the_page_as_stored(orientation: int | None, exif: bytes) -> None:
    stored = _upright_page().transpose(_STORED_AS[6])
    data = _with_orientation(stored, "JPEG", orientation, exif, dpi=(300, 300))
    with opened(data) as doc:
        read = doc.page(1)
        assert read.image.size == stored.size  # the only frame is the decoder's own: compared before it closes
        assert _mean_difference(read.image, stored) < 3
    assert read.warning == ""
    assert (read.dpi, read.dpi_source) == (300, "metadata")


@pytest.mark.parametrize(("fmt", "bits"), [("PNG", 16), ("TIFF", 16), ("TIFF", 12)])
def test_a_16_bit_grey_scan_keeps_its_levels(fmt: str, bits: int) -> None:
    """Archival scans store 16 bits a pixel (or 12, in 16): the page opens as 8-bit grey with its
    text dark and its paper white. Pillow's own conversion clipped every level over 255 to white."""
    import io

    import numpy as np

    page = Image.new("L", (400, 300), 255)
    page.paste(60, (50, 100, 350, 140))  # a grey bar: a stroke's edge, a faint character
    wide = (np.asarray(page).astype(np.uint16) * ((2**bits - 1) // 255)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(wide).save(buf, fmt, dpi=(300, 300))
    with OpenedDocument(buf.getvalue(), 10**8, 10, 300) as doc:
        opened = doc.page(1)
        levels = np.asarray(opened.image.convert("L"))
    assert abs(int(levels[120, 200]) - 60) <= 3 and levels[20, 20] > 250 and opened.dpi == 300, levels[120, 200]


def test_the_pages_of_a_tiff_open_in_any_order() -> None:
    import io

    frames = [Image.new("L", (200 + 10 * n, 100), 255) for n in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    with OpenedDocument(buf.getvalue(), 10**8, 10, 300) as doc:
        assert [doc.page(n).image.width for n in (2, 1, 3, 1)] == [210, 200, 220, 200]
