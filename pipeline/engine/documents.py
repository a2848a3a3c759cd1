"""Bytes to pages: sniff the type from magic bytes, decode images, read a PDF's text layer or
rasterise its pages one at a time (never the whole document in memory).

Caps: pixels per page (Pillow's decompression-bomb guard, PDF pages scaled down to fit), pages
per document. Every failure is a :class:`~pipeline.errors.PermanentError` with a reason.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageFile

from pipeline import errors
from pipeline.engine.resolution import image_resolution, square_pixels

ImageFile.LOAD_TRUNCATED_IMAGES = False
MIN_TEXT_LAYER_CHARS = 16
COLOUR_RENDER_MAX_PIXELS = 20_000_000  # above (A3 at 300 DPI is 17.4 M), render grey: a third of the memory
SCAN_DPI_TOLERANCE = 0.1  # a scan within 10% of the render DPI is taken as it is (rendering would resample it)
_SCAN_COLOURS = frozenset(range(1, 8)) | {10}  # pdfium's grey, RGB, CMYK, Cal*, Lab, ICC, indexed
_ROTATIONS = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}

_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "gif": "image/gif",
    "webp": "image/webp",
}


def sniff(data: bytes) -> str:
    """The document kind from its first bytes; raises for empty or unsupported input."""
    if not data:
        raise errors.EmptyObject("the object has zero bytes")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if b"%PDF-" in data[:1024]:  # PDF readers accept junk before the header
        return "pdf"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    raise errors.UnsupportedType(f"not a supported image or PDF (first bytes {data[:8]!r})")


@dataclass
class PageInput:
    """One page ready for the engine: either text from a PDF text layer or an image, with the
    resolution it is to be read at and where that came from (:mod:`pipeline.engine.resolution`)."""

    page: int
    text: str | None = None
    image: Image.Image | None = None
    warning: str = ""
    dpi: int = 0
    dpi_source: str = ""


class OpenedDocument:
    """An open document: its kind, page count, and pages produced one at a time."""

    def __init__(self, data: bytes, max_pixels: int, max_pages: int, dpi: int) -> None:
        self.kind = sniff(data)
        self.content_type = CONTENT_TYPES[self.kind]
        self._max_pixels = max_pixels
        self._dpi = dpi
        self._pdf = None
        self._image: Image.Image | None = None
        if self.kind == "pdf":
            self._pdf = _open_pdf(data)
            self.page_count = len(self._pdf)
        else:
            self._image = _open_image(data, max_pixels)
            self.page_count = getattr(self._image, "n_frames", 1) if self.kind == "tiff" else 1
        if self.page_count > max_pages:
            self.close()
            raise errors.TooManyPages(f"{self.page_count} pages; the cap is {max_pages} (OCR_MAX_PAGES)")
        if self.page_count == 0:
            self.close()
            raise errors.CorruptDocument("the PDF has no pages")

    def page(self, number: int) -> PageInput:
        """Page ``number`` (1-based), decoded or rasterised now."""
        if self._pdf is not None:
            return _pdf_page(self._pdf, number, self._dpi, self._max_pixels)
        frame, warning = square_pixels(_image_frame(self._image, number, self._max_pixels))
        resolution = image_resolution(frame)
        return PageInput(number, image=frame, warning=warning, dpi=resolution.dpi, dpi_source=resolution.source)

    def pages(self) -> Iterator[PageInput]:
        """Every page in order, one at a time."""
        for number in range(1, self.page_count + 1):
            yield self.page(number)

    def close(self) -> None:
        """Release the decoder's resources."""
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None
        if self._image is not None:
            self._image.close()
            self._image = None

    def __enter__(self) -> OpenedDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_image(data: bytes, max_pixels: int) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise errors.ImageTooLarge(f"{exc} (OCR_MAX_PIXELS)") from None
    except Exception as exc:  # Pillow raises many types for hostile input
        raise errors.CorruptDocument(f"the image cannot be read: {exc}") from None
    _check_pixels(image.size, max_pixels)
    return image


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise errors.CorruptDocument(f"the image has no area ({width}x{height})")
    if width * height > max_pixels:
        raise errors.ImageTooLarge(
            f"{width}x{height} = {width * height:,} pixels; the cap is {max_pixels:,} (OCR_MAX_PIXELS)"
        )


def _image_frame(image: Image.Image | None, number: int, max_pixels: int) -> Image.Image:
    assert image is not None
    try:
        if number > 1:
            image.seek(number - 1)
        _check_pixels(image.size, max_pixels)
        if image.mode not in ("1", "L", "RGB"):
            frame = _flatten(image)
        elif getattr(image, "n_frames", 1) == 1:
            image.load()  # the only frame: no copy of its pixels
            frame = image
        else:
            frame = image.copy()
        frame.load()
    except errors.OcrClusterError:
        raise
    except Image.DecompressionBombError as exc:
        raise errors.ImageTooLarge(str(exc)) from None
    except Exception as exc:
        raise errors.CorruptDocument(f"page {number} cannot be decoded: {exc}") from None
    return frame


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent or palette images onto white, as RGB."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    background.info = dict(image.info)  # its resolution
    return background


def _open_pdf(data: bytes):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower() or "security" in message.lower():
            raise errors.EncryptedDocument("the PDF is encrypted (password required)") from None
        raise errors.CorruptDocument(f"the PDF cannot be opened: {message}") from None


def _pdf_page(pdf, number: int, dpi: int, max_pixels: int) -> PageInput:
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
                return PageInput(number, image=scan, dpi=scan_dpi, dpi_source="pdf-scan")
            scale, warning = _raster_scale(size, dpi, max_pixels)
            image = _render_grey(page, size, scale)
            return PageInput(number, image=image, warning=warning, dpi=round(scale * 72), dpi_source="pdf-render")
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise errors.CorruptDocument(f"page {number} of the PDF cannot be read: {exc}") from None


def embedded_scan(page, dpi: int, max_pixels: int) -> Image.Image | None:
    """A scanned page's own pixels, as grey, when rendering it would only copy them; else ``None``.

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
    image = image if image.mode == "L" else image.convert("L")
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


def _render_grey(page, size_pt: tuple[float, float], scale: float) -> Image.Image:
    """The page as 8-bit grey.

    pdfium's own grey rendering costs ~0.10 s an A4 page at 300 DPI; colour and a conversion to
    grey ~0.05 s, with the same text. A colour bitmap is three times the size, so pages larger
    than ``COLOUR_RENDER_MAX_PIXELS`` (drawings, posters) are rendered grey directly.
    """
    width, height = size_pt
    if width * scale * height * scale > COLOUR_RENDER_MAX_PIXELS:
        return page.render(scale=scale, grayscale=True).to_pil()
    return page.render(scale=scale, rev_byteorder=True).to_pil().convert("L")


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
