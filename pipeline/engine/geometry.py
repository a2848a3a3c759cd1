"""Page geometry in pixels: the skew of a page, and turning or straightening it.

The skew is measured the way Leptonica's ``pixFindSkewSweep`` does, on a page reduced to about
75 DPI: ink pixels (less solid dark ground, :func:`strokes`: the black a page lies on runs with
the paper, not the text) are projected onto rows (and onto columns, for vertical Japanese) along a
sweep of angles, and the angle whose profile has the sharpest edges (the largest sum of squared
differences between neighbouring bins) is the one the lines or columns run at. A sweep of
±20 degrees at 1 degree (a hand-fed slip or receipt lies at 15-20; at ±12 a page at 15 was
measured at 5 and read nothing), then ±1 at 0.1, costs ~6 CPU ms an A4 page on the reduction the
ink test made (~0.4% of recognising it; ±12 took ~4.5); a page found skewed is measured again at
~150 DPI (±0.5 at 0.05), which puts the angle within 0.2 degree on pages skewed up to 19 degrees
(``tests/unit/test_geometry.py``). A skewed page is turned back bicubically: bilinear lost a line
in 24 at 6 degrees. Tesseract's own deskew angle (from its layout analysis) is right up to ~6
degrees, but beyond its lines break up: at 8-10 degrees it read nothing.

The page's grey reductions (:class:`Reductions`) are made once a page and shared with the ink test
(:mod:`pipeline.engine.blank`): its first look and the sweep use the same ~75-DPI copy, and a
skewed page's second measurement the ink test's ~150-DPI one when it made it. All the angles of a
sweep are projected in one pass (one ``bincount`` over every angle's bins).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

ANALYSIS_DPI = 75
FINE_DPI = 150
REFINE_ABOVE = 0.5
MAX_POINTS = 20_000
MIN_POINTS = 200  # fewer ink pixels than this: a blank or nearly blank page, no skew to find
INK_LEVEL = 128
SOLID_MM = 1.7  # dark this far across both ways is ground (a band, a box, a dark platen), not a stroke
SHARPER_BY = 1.05  # an angle must beat the page as it is by 5%, or the page is left as it is
_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


class Reductions:
    """The page in grey reduced by box averages, each reduction made once and kept for the page:
    the ink test and the skew estimate ask for the same ones (``at(75)``, ``at(150)``)."""

    def __init__(self, image: Image.Image, dpi: int) -> None:
        self.image = image
        self.dpi = dpi
        self._made: dict[int, Image.Image] = {}

    def at(self, target_dpi: int) -> tuple[Image.Image, float]:
        """The page in grey at about ``target_dpi`` (an integer factor finer or the page as it is),
        and the DPI it is at."""
        factor = max(1, round(self.dpi / target_dpi))
        if factor not in self._made:
            self._made[factor] = _grey_reduced(self.image, factor)
        return self._made[factor], self.dpi / factor

    @property
    def made(self) -> tuple[float, ...]:
        """The DPIs of the reductions made so far, in the order they were made."""
        return tuple(self.dpi / factor for factor in self._made)


def reductions_of(image: Image.Image, dpi: int, shared: Reductions | None) -> Reductions:
    """``shared`` when it is this page's at this DPI, else new ones (a wrong page is never shared)."""
    if shared is not None and shared.image is image and shared.dpi == dpi:
        return shared
    return Reductions(image, dpi)


def _grey_reduced(image: Image.Image, factor: int) -> Image.Image:
    """``image`` reduced ``factor`` times by box averages, in grey (colour reduced first: cheaper)."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("L")
    small = image.reduce(factor) if factor > 1 else image
    return small if small.mode == "L" else small.convert("L")


def estimate_skew(
    image: Image.Image, dpi: int, limit_deg: float = 20.0, reductions: Reductions | None = None
) -> float:
    """The angle (degrees, counter-clockwise) the page's lines or columns run at; 0.0 if none.

    Swept on the page at ~``ANALYSIS_DPI``; an angle of ``REFINE_ABOVE`` or more is measured
    again at ~``FINE_DPI`` (to about 0.1 degree: at 6 degrees, 0.2 off cost a line of 24).
    ``reductions``: the page's grey reductions when the ink test made them already.
    """
    reductions = reductions_of(image, dpi, reductions)
    ys, xs = _ink_points(reductions, ANALYSIS_DPI)
    if len(ys) < MIN_POINTS:
        return 0.0
    coarse = np.arange(-limit_deg, limit_deg + 1e-6, 1.0)
    rows, cols = profile_sharpness(ys, xs, coarse, True), profile_sharpness(ys, xs, coarse, False)
    along_rows = rows.max() / rows.mean() >= cols.max() / cols.mean()  # the sharper peak over its own sweep
    first = float(coarse[int(np.argmax(rows if along_rows else cols))])
    angle = _sweep(ys, xs, along_rows, first, 1.0, 0.1)
    if angle is None or abs(angle) < REFINE_ABOVE:
        return 0.0 if angle is None else round(-angle, 2)
    ys, xs = _ink_points(reductions, FINE_DPI)
    fine = _sweep(ys, xs, along_rows, angle, 0.5, 0.05)
    return round(-(angle if fine is None else fine), 2)


def _sweep(ys: np.ndarray, xs: np.ndarray, along_rows: bool, centre: float, span: float, step: float) -> float | None:
    """The sharpest angle within ``centre`` ± ``span``; ``None`` when it is no sharper than 0."""
    angles = np.arange(centre - span, centre + span + 1e-6, step)
    scores = profile_sharpness(ys, xs, np.append(angles, 0.0), along_rows)
    best = int(np.argmax(scores[:-1]))
    if scores[best] < SHARPER_BY * scores[-1]:
        return None
    return float(angles[best])


def straighten(image: Image.Image, skew_deg: float) -> Image.Image:
    """The page turned back by its skew, on a white ground (the canvas grows to keep corners)."""
    grey = image if image.mode == "L" else image.convert("L")
    return grey.rotate(-skew_deg, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """The page turned counter-clockwise by 90, 180 or 270 degrees (exact, no resampling)."""
    return image.transpose(_TURNS[degrees % 360]) if degrees % 360 else image


def inverted(image: Image.Image) -> Image.Image:
    """The page in grey with black and white swapped (a negative scan made positive)."""
    from PIL import ImageOps

    return ImageOps.invert(image if image.mode == "L" else image.convert("L"))


def _ink_points(reductions: Reductions, at_dpi: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of the strokes of the page reduced to ~``at_dpi``: its dark pixels
    less its solid dark ground (:func:`strokes`)."""
    small, dpi = reductions.at(at_dpi)
    ys, xs = np.divmod(np.flatnonzero(strokes(np.asarray(small) < INK_LEVEL, dpi)), small.width)  # 2-D: 5x slower
    if len(ys) > MAX_POINTS:
        step = len(ys) // MAX_POINTS + 1
        ys, xs = ys[::step], xs[::step]
    return ys.astype(np.float32), xs.astype(np.float32)


def strokes(dark: np.ndarray, dpi: float) -> np.ndarray:
    """``dark`` less every ``SOLID_MM`` square dark all over: the black a page lies on (a flatbed
    with its lid open, a sheet-fed scanner's black backing), a heading band, a stamp. Their edges
    run with the platen or the band, not with the text: on a page skewed 4 degrees on a black
    platen they swung the estimate to -9.7 and the page read nothing."""
    side = max(2, round(SOLID_MM * dpi / 25.4))
    squares = eroded(dark, side)
    if not squares.any():
        return dark
    return dark & ~covered(squares, side, dark.shape)


def eroded(mask: np.ndarray, side: int) -> np.ndarray:
    """Where a ``side`` x ``side`` square of ``mask`` is set all over (one pixel a square, at its
    top left): ``mask`` and-ed with itself shifted, along the rows, then down the columns."""
    width, height = mask.shape[1] - side + 1, mask.shape[0] - side + 1
    if width < 1 or height < 1:
        return np.zeros((0, 0), bool)
    rows = mask[:, :width].copy()
    for k in range(1, side):
        rows &= mask[:, k:k + width]
    square = rows[:height].copy()
    for k in range(1, side):
        square &= rows[k:k + height]
    return square


def covered(squares: np.ndarray, side: int, shape: tuple[int, ...]) -> np.ndarray:
    """The pixels (of an image of ``shape``) that the ``side`` x ``side`` squares whose top-left
    corners ``squares`` marks (as :func:`eroded` gives them) cover."""
    height, width = squares.shape
    rows = np.zeros((height, shape[1]), bool)
    for k in range(side):
        rows[:, k:k + width] |= squares
    out = np.zeros(shape, bool)
    for k in range(side):
        out[k:k + height] |= rows
    return out


def profile_sharpness(ys: np.ndarray, xs: np.ndarray, angles: np.ndarray, along_rows: bool) -> np.ndarray:
    """For each of ``angles``: the sum of squared differences between neighbouring bins of the ink
    pixels' projection profile once the page is sheared by that angle (sharp line edges score high).

    Every angle's profile is counted in one ``bincount``, each in its own stretch of bins."""
    slopes = np.tan(np.radians(angles))[:, None]
    coordinates = ys - xs * slopes if along_rows else xs + ys * slopes
    bins = np.round(coordinates - coordinates.min(axis=1, keepdims=True)).astype(np.int64)
    lasts = bins.max(axis=1)
    width = int(lasts.max()) + 2  # a zero bin after the longest profile
    offsets = np.arange(len(angles))[:, None] * width
    profiles = np.bincount((bins + offsets).ravel(), minlength=len(angles) * width).reshape(len(angles), width)
    steps = np.diff(profiles, axis=1)
    ends = profiles[np.arange(len(angles)), lasts]  # the step from a profile's last bin to nothing is no edge
    return (steps * steps).sum(axis=1).astype(np.float64) - (ends * ends).astype(np.float64)
