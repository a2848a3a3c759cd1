"""Bytes to pages: sniff the type from magic bytes, decode images and know their resolution; PDF
pages (text layer, scan or render) come from :mod:`pipeline.engine.pdf`. One page at a time,
never the whole document in memory.

Caps: pixels per page (Pillow's decompression-bomb guard, PDF pages scaled down to fit), pages
per document. Every failure is a :class:`~pipeline.errors.PermanentError` with a reason.

A page's resolution must be told to the engine (``SetImageBytes`` carries none). Without it
Tesseract assumes 70 DPI, and its layout analysis drops whole runs of lines on ordinary 300-DPI
pages (measured on A4 Mincho pages: CER 63% without, 0.0% with). It comes, in this order, from:

- ``pdf-render`` / ``pdf-scan``: a PDF page's render DPI, or an embedded scan's own;
- ``metadata``: an image's DPI (PNG pHYs, JPEG JFIF/EXIF, TIFF) when it is credible;
- ``paper-size``: the page's size, when its shape is a paper size (an image 2480 px wide in
  A4's shape is a 300-DPI A4 page, not a 70-DPI poster);
- ``assumed``: :data:`ASSUMED_DPI`, the resolution of most office scans.

A DPI is not credible outside 70-2400, nor when it makes the page larger than an A0 sheet, nor
when a low value (72 and 96 are what cameras and screens write) makes it larger than
:data:`LOW_DPI_MAX_INCHES`.

An image page is read the way a viewer shows it: its EXIF / TIFF Orientation tag (phone scan
apps and some MFPs store the pixels sideways with Orientation 6 or 8) is applied before anything
else sees the page, frame by frame, with the page's warning saying so. An unreadable tag leaves
the page as stored.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageFile

from pipeline import errors
from pipeline.engine.pdf import open_pdf, pdf_page
from pipeline.engine.stamps import stamps_note, without_stamps
from pipeline.models import PageInput

ImageFile.LOAD_TRUNCATED_IMAGES = False

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


def is_long(page_count: int, split_pages: int) -> bool:
    """Whether a document of ``page_count`` pages is read in ranges of ``split_pages`` pages
    (:mod:`pipeline.engine.split`; ``split_pages`` 0: never)."""
    return split_pages > 0 and page_count > split_pages


class OpenedDocument:
    """An open document: its kind, page count, and pages produced one at a time."""

    def __init__(self, data: bytes, max_pixels: int, max_pages: int, dpi: int, drop_stamps: bool = False) -> None:
        self.kind = sniff(data)
        self._drop_stamps = drop_stamps  # coloured stamps' ink made paper (pipeline.engine.stamps)
        self.content_type = CONTENT_TYPES[self.kind]
        self._max_pixels = max_pixels
        self._dpi = dpi
        self._pdf = None
        self._image: Image.Image | None = None
        if self.kind == "pdf":
            self._pdf = open_pdf(data)
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
            return pdf_page(self._pdf, number, self._dpi, self._max_pixels, self._drop_stamps)
        return _image_page(self._image, number, self._max_pixels, self._drop_stamps)

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


def _image_page(image: Image.Image | None, number: int, max_pixels: int, drop_stamps: bool = False) -> PageInput:
    """Frame ``number`` of a decoded image as a page: turned upright by its orientation tag, then
    with square pixels (in that order: a quarter turn swaps which axis is the coarse one), then
    (``drop_stamps``) its stamps read through (:mod:`pipeline.engine.stamps`)."""
    assert image is not None
    frame, orientation = _image_frame(image, number, max_pixels)
    decoded_upright = orientation_tag(image) != orientation  # Pillow took the tag off as it turned it
    frame, turned = upright(frame, orientation, decoded_upright)
    frame, stretched = square_pixels(frame)
    resolution = image_resolution(frame)
    grey = frame.mode == "L"
    frame, stamped = without_stamps(frame, resolution.dpi) if drop_stamps else (frame, 0)
    warning = "; ".join(filter(None, (turned, stretched, stamps_note(stamped, grey))))
    return PageInput(number, image=frame, warning=warning, dpi=resolution.dpi, dpi_source=resolution.source)


def _image_frame(image: Image.Image | None, number: int, max_pixels: int) -> tuple[Image.Image, int]:
    """Frame ``number``, decoded, and the orientation tag it was stored with. The tag is read before
    the pixels are: Pillow turns a TIFF frame by its tag as it decodes it, and takes the tag off."""
    assert image is not None
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(number - 1)  # page 1 after page 2 as well
        _check_pixels(image.size, max_pixels)
        orientation = orientation_tag(image)
        if image.mode.startswith(("I", "F")):
            frame = _eight_bit(image)
        elif image.mode not in ("1", "L", "RGB"):
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
    return frame, orientation


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16- or 32-bit grey page (scanners' archival setting) as 8-bit grey, its levels scaled:
    Pillow's own conversion clips every level over 255 to white, and a 16-bit page's text was lost."""
    import numpy as np

    levels = np.asarray(image).astype(np.float64)
    top = float(levels.max(initial=0.0))  # its own brightest, not 65535: 12-bit scanners fill 0-4095
    scale = 255.0 / top if top > 255 else 1.0  # a page of 8-bit levels in a wider mode stays as it is
    grey = Image.fromarray(np.clip(levels * scale + 0.5, 0, 255).astype(np.uint8), "L")
    grey.info = dict(image.info)  # its resolution
    return grey


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent or palette images onto white, as RGB."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    background.info = dict(image.info)  # its resolution
    return background


_TRANSPOSES = {  # EXIF Orientation -> what turns the stored pixels the way a viewer shows them
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = (5, 6, 7, 8)  # the stored rows become columns
_ORIENTATION_INFO = ("exif", "xmp", "XML:com.adobe.xmp", "Raw profile type exif")  # where a tag can hide


def orientation_tag(image: Image.Image) -> int:
    """The current frame's EXIF / TIFF Orientation (2-8: the page is stored turned or mirrored), or 1
    when it has none, when it is none of the eight, or when the EXIF block cannot be read: a broken
    tag must not cost the page, which is then read as stored."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
        return int(value) if value in _TRANSPOSES else 1
    except Exception:  # Pillow raises many types for a malformed EXIF block
        return 1


def upright(image: Image.Image, orientation: int, decoded_upright: bool = False) -> tuple[Image.Image, str]:
    """The page turned the way its orientation tag says a viewer shows it, and a warning saying so.

    Read as stored, a page saved sideways with Orientation 6 lies on its side, and only the costly
    orientation detection (~0.6 s and a second reading) may save it. A quarter turn swaps the x and
    y DPI (a 204 x 98 DPI fax stored sideways is 98 x 204 upright). The turned page carries no tag
    any more, so nothing turns it twice. ``decoded_upright``: Pillow turned the pixels already as
    it decoded them (it does for TIFF), but left the DPI as stored.
    """
    method = _TRANSPOSES.get(orientation)
    if method is None:
        return image, ""
    turned = image
    if not decoded_upright:
        turned = image.transpose(method)
        turned.info = {k: v for k, v in image.info.items() if k not in _ORIENTATION_INFO}
    x_dpi, y_dpi = metadata_dpi(image)
    if x_dpi and orientation in _QUARTER_TURNS:
        turned.info["dpi"] = (y_dpi, x_dpi)
    return turned, f"turned by its orientation tag ({orientation})"


ASSUMED_DPI = 300
MIN_CREDIBLE_DPI = 70
MAX_CREDIBLE_DPI = 2400
MAX_PAGE_INCHES = 50.0  # A0 is 46.8 in on its long side
LOW_DPI = 150
LOW_DPI_MAX_INCHES = 24.0
PAPER_SHAPE_TOLERANCE = 0.03  # scanners crop a little
ANISOTROPY_TOLERANCE = 0.05
PAPER_INCHES = {
    "A3": (11.69, 16.54), "B4": (10.12, 14.33), "A4": (8.27, 11.69), "B5": (7.17, 10.12),
    "A5": (5.83, 8.27), "B6": (5.04, 7.17), "Letter": (8.5, 11.0), "Legal": (8.5, 14.0),
}
SCAN_DPIS = (150, 200, 240, 300, 400, 600)


@dataclass(frozen=True)
class Resolution:
    """The DPI a page is read at and where it came from."""

    dpi: int
    source: str  # "pdf-render" | "pdf-scan" | "metadata" | "paper-size" | "assumed"


def credible(dpi: float, width: int, height: int) -> bool:
    """Whether ``dpi`` describes a real page of ``width`` x ``height`` pixels."""
    if not MIN_CREDIBLE_DPI <= dpi <= MAX_CREDIBLE_DPI:
        return False
    longest = max(width, height) / dpi
    return longest <= (LOW_DPI_MAX_INCHES if dpi < LOW_DPI else MAX_PAGE_INCHES)


def from_paper_size(width: int, height: int) -> int | None:
    """The DPI of a page whose shape is a paper size (the reading closest to a usual scan DPI)."""
    short, long_ = sorted((width, height))
    best: tuple[float, int] | None = None
    for paper_short, paper_long in PAPER_INCHES.values():
        if abs((long_ / short) / (paper_long / paper_short) - 1) > PAPER_SHAPE_TOLERANCE:
            continue
        dpi = short / paper_short
        distance = min(abs(dpi / usual - 1) for usual in SCAN_DPIS)
        if best is None or distance < best[0]:
            best = (distance, round(dpi))
    return best[1] if best and credible(best[1], width, height) else None


def image_resolution(image: Image.Image) -> Resolution:
    """The resolution of a decoded image page (its metadata, else its size, else assumed)."""
    x_dpi, y_dpi = metadata_dpi(image)
    if x_dpi and credible(max(x_dpi, y_dpi), image.width, image.height):
        return Resolution(round(max(x_dpi, y_dpi)), "metadata")
    paper = from_paper_size(image.width, image.height)
    if paper:
        return Resolution(paper, "paper-size")
    return Resolution(ASSUMED_DPI, "assumed")


def metadata_dpi(image: Image.Image) -> tuple[float, float]:
    """(x, y) DPI as the file states it, or (0, 0)."""
    dpi = image.info.get("dpi")
    try:
        x_dpi, y_dpi = (float(v) for v in dpi)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return 0.0, 0.0
    return (x_dpi, y_dpi) if x_dpi > 0 and y_dpi > 0 else (0.0, 0.0)


def square_pixels(image: Image.Image) -> tuple[Image.Image, str]:
    """The image with square pixels, and a warning saying so when it had to be stretched.

    A standard-mode fax is 204 x 98 DPI: its glyphs are half as tall as the engine expects.
    Such a page is stretched along its coarser axis to the finer DPI.
    """
    x_dpi, y_dpi = metadata_dpi(image)
    if not x_dpi or abs(x_dpi / y_dpi - 1) <= ANISOTROPY_TOLERANCE:
        return image, ""
    if not credible(max(x_dpi, y_dpi), image.width, image.height) or min(x_dpi, y_dpi) < MIN_CREDIBLE_DPI / 2:
        return image, ""
    fine = max(x_dpi, y_dpi)
    size = (round(image.width * fine / x_dpi), round(image.height * fine / y_dpi))
    stretched = image.resize(size, Image.Resampling.BILINEAR)
    stretched.info["dpi"] = (fine, fine)
    return stretched, f"pixels made square ({x_dpi:g} x {y_dpi:g} dpi stretched to {fine:g})"


FINER_MARGIN = 1.25  # a 310-DPI estimate of a 300-DPI page is the same page: resampling it only blurs


def at_most(image: Image.Image, dpi: int, cap: int) -> tuple[Image.Image, int]:
    """The page reduced to ``cap`` DPI when it was scanned clearly finer (0: never). The engine
    scales each line to its network's height, so the pixels of a 600-DPI scan past ~400 buy no
    text, only layout-analysis time (4x the pixels of 300 DPI): read at 400, 600-DPI pages took
    1.3-1.5x less CPU with as many words found, where 300 lost names in 5-pt print
    (``python -m benchmarks.engine_settings``, ``docs/benchmarks.md``)."""
    if not cap or dpi <= cap * FINER_MARGIN:
        return image, dpi
    scale = cap / dpi
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.mode == "1":  # Pillow resizes bilevel pixels by nearest neighbour: thin strokes drop out
        image = image.convert("L")
    return image.resize(size, Image.Resampling.LANCZOS), cap


def at_read_resolution(
    image: Image.Image, dpi: int, source: str, max_dpi: int, min_dpi: int
) -> tuple[Image.Image, int]:
    """The page at the resolution the engine reads it: reduced to ``max_dpi`` (:func:`at_most`) or
    enlarged to ``min_dpi`` (:func:`at_least`), and that resolution. A PDF page's render
    (``source`` ``pdf-render``) is read as rendered: its resolution is ``OCR_DPI``'s to choose."""
    image, dpi = at_most(image, dpi, max_dpi)
    if source != "pdf-render":
        image, dpi = at_least(image, dpi, min_dpi)
    return image, dpi


ENLARGE_MAX_PIXELS = 40_000_000  # an A3 page at 300 DPI is 17.5 Mpx; a large drawing is read as scanned


def at_least(image: Image.Image, dpi: int, floor: int) -> tuple[Image.Image, int]:
    """The page enlarged to ``floor`` DPI when it was scanned clearly coarser (0: never), unless
    that would take it past ``ENLARGE_MAX_PIXELS``. Tesseract's layout analysis and binarisation
    lose glyph detail at 150-200 DPI that Lanczos interpolation gives back: 200-DPI Mincho pages
    read at 0.6-0.8% CER as scanned, 0.0-0.1% enlarged to 300; 150-DPI pages 2.5-4.1% against
    0.3-0.7%, for 10-60% more CPU (``docs/benchmarks.md``, "Coarse scans read at 300 DPI")."""
    if not floor or dpi * FINER_MARGIN >= floor:
        return image, dpi
    scale = floor / dpi
    size = (round(image.width * scale), round(image.height * scale))
    if size[0] * size[1] > ENLARGE_MAX_PIXELS:
        return image, dpi
    if image.mode == "1":  # interpolated in grey: the engine binarises again itself
        image = image.convert("L")
    return image.resize(size, Image.Resampling.LANCZOS), floor
