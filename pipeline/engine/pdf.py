"""A PDF's pages: its text layer when it has one, else a scanned page's own image (no render), else
a render at the DPI asked for, kept under the pixel cap. One page at a time; failures are
:class:`~pipeline.errors.PermanentError` with a reason.
"""

from __future__ import annotations

from PIL import Image

from pipeline import errors
from pipeline.engine.stamps import stamps_note, without_stamps
from pipeline.models import PageInput

MIN_TEXT_LAYER_CHARS = 16
COLOUR_RENDER_MAX_PIXELS = 20_000_000  # above (A3 at 300 DPI is 17.4 M), render grey: a third of the memory
SCAN_DPI_TOLERANCE = 0.1  # a scan within 10% of the render DPI is taken as it is (rendering would resample it)
_SCAN_COLOURS = frozenset(range(1, 8)) | {10}  # pdfium's grey, RGB, CMYK, Cal*, Lab, ICC, indexed
_ROTATIONS = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def open_pdf(data: bytes):  # -> pypdfium2.PdfDocument
    """The PDF opened by pdfium; encrypted or unreadable ones raise with a reason."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower() or "security" in message.lower():
            raise errors.EncryptedDocument("the PDF is encrypted (password required)") from None
        raise errors.CorruptDocument(f"the PDF cannot be opened: {message}") from None


def pdf_page(pdf, number: int, dpi: int, max_pixels: int, drop_stamps: bool = False) -> PageInput:
    """Page ``number`` (1-based): its text layer, its scan, or its render at ``dpi``; in grey, a
    colour page's stamps read through first when ``drop_stamps`` (:mod:`pipeline.engine.stamps`)."""
    import pypdfium2 as pdfium

    try:
        page = pdf[number - 1]
        try:
            text = _text_layer(page)
            if len(text.strip()) >= MIN_TEXT_LAYER_CHARS:
                return PageInput(number, text=text)
            size = page.get_size()
            scan = embedded_scan(page, dpi, max_pixels)
            if scan is not None:
                scan_dpi = round(72.0 * max(scan.size) / max(size))
                scan, note = _grey(scan, scan_dpi, drop_stamps)
                return PageInput(number, image=scan, warning=note, dpi=scan_dpi, dpi_source="pdf-scan")
            scale, warning = _raster_scale(size, dpi, max_pixels)
            image, note = _grey(_render(page, size, scale), round(scale * 72), drop_stamps)
            return PageInput(number, image=image, warning="; ".join(filter(None, (warning, note))),
                             dpi=round(scale * 72), dpi_source="pdf-render")
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise errors.CorruptDocument(f"page {number} of the PDF cannot be read: {exc}") from None


def embedded_scan(page, dpi: int, max_pixels: int) -> Image.Image | None:
    """A scanned page's own pixels (in their colours) when rendering it would only copy them; else ``None``.

    That is a page whose only content is one opaque, upright image covering it at ``dpi``
    (±``SCAN_DPI_TOLERANCE``), in an ordinary colour space, with no annotation: what scanners
    and fax servers write. Its pixels are what the render would produce (one grey level apart on
    average, not resampled), at a fraction of the cost: an A4 page at 300 DPI takes ~7 ms
    (JPEG grey), ~10 ms (1-bit fax) instead of 60-80 ms. Anything else is rendered.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if pdfium_c.FPDFPage_CountObjects(page.raw) != 1 or pdfium_c.FPDFPage_GetAnnotCount(page.raw) != 0:
        return None
    obj = next(iter(page.get_objects(max_depth=1)))
    if obj.type != pdfium_c.FPDF_PAGEOBJ_IMAGE or pdfium_c.FPDFPageObj_HasTransparency(obj.raw):
        return None
    try:
        meta = obj.get_metadata()
        if not _covers_page(obj, page, meta.width, meta.height, dpi) or meta.colorspace not in _SCAN_COLOURS:
            return None
        if meta.width * meta.height > max_pixels:
            return None
        image = obj.get_bitmap(render=False).to_pil()
    except pdfium.PdfiumError:
        return None  # the render says what is wrong with it
    rotation = page.get_rotation()
    return image.transpose(_ROTATIONS[rotation]) if rotation else image


def _covers_page(obj, page, width_px: int, height_px: int, dpi: int) -> bool:
    """The image is drawn upright over the whole page box at ``dpi`` (within the tolerances)."""
    a, b, c, d, _, _ = obj.get_matrix().get()
    if abs(b) > 1e-6 or abs(c) > 1e-6 or a <= 0 or d <= 0:
        return False  # rotated, skewed or mirrored by its matrix
    box = page.get_bbox()
    width_pt, height_pt = box[2] - box[0], box[3] - box[1]
    edge = 0.01 * max(width_pt, height_pt)
    if any(abs(got - want) > edge for got, want in zip(obj.get_bounds(), box, strict=True)):
        return False
    return all(
        abs(px / (pt / 72.0 * dpi) - 1) <= SCAN_DPI_TOLERANCE
        for px, pt in ((width_px, width_pt), (height_px, height_pt))
    )


def _render(page, size_pt: tuple[float, float], scale: float) -> Image.Image:
    """The page rendered, in colour (made grey by :func:`_grey`).

    pdfium's own grey rendering costs ~0.10 s an A4 page at 300 DPI; colour and a conversion to
    grey ~0.05 s, with the same text. A colour bitmap is three times the size, so pages larger
    than ``COLOUR_RENDER_MAX_PIXELS`` (drawings, posters) are rendered grey directly.
    """
    width, height = size_pt
    if width * scale * height * scale > COLOUR_RENDER_MAX_PIXELS:
        return page.render(scale=scale, grayscale=True).to_pil()
    return page.render(scale=scale, rev_byteorder=True).to_pil()


def _grey(image: Image.Image, dpi: int, drop_stamps: bool) -> tuple[Image.Image, str]:
    """The page in 8-bit grey (bilevel scans as they are), its stamps read through first when
    ``drop_stamps`` (a colour page's before it goes grey); and the note of them."""
    if image.mode == "1" or not drop_stamps:
        return (image if image.mode in ("1", "L") else image.convert("L")), ""
    grey = image.mode == "L"
    image, stamped = without_stamps(image if grey or image.mode == "RGB" else image.convert("RGB"), dpi)
    return (image if image.mode == "L" else image.convert("L")), stamps_note(stamped, grey)


def _text_layer(page) -> str:
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range()
    finally:
        textpage.close()


def _raster_scale(size_pt: tuple[float, float], dpi: int, max_pixels: int) -> tuple[float, str]:
    """The render scale for ``dpi``, lowered so the bitmap stays under the pixel cap."""
    width_pt, height_pt = size_pt
    scale = dpi / 72.0
    pixels = width_pt * scale * height_pt * scale
    if pixels <= max_pixels:
        return scale, ""
    reduced = scale * (max_pixels / pixels) ** 0.5
    return reduced, f"page rendered at {reduced * 72:.0f} dpi instead of {dpi} to stay under OCR_MAX_PIXELS"
