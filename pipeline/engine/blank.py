"""The ink test: whether a page is blank (a separator sheet, the empty back of a duplex scan),
decided before the engine is asked, in a few milliseconds, and never for a page with text.

On the page reduced to about ``WORK_DPI`` grey (box averages: scanner noise averages out, a
stroke's darkness mostly stays):

1. the outer ``EDGE_CROP`` of each side is left out (scanner edge shadows, the platen's border);
2. the **background** is a high percentile (``BACKGROUND_PERCENTILE``) of the grey levels: the
   paper, white or a scanner's grey;
3. **ink** is a pixel at least ``INK_CONTRAST`` levels darker than the background;
4. ink pixels less than ``GAP_MM`` apart form a group (a character's strokes, faint ones broken
   up included); a group is a **speck** (dust, noise) when it covers under ``SPECK_MM2``, and a
   **punched-hole shadow** when solid, round, 4-9 mm across and near an edge; neither is ink;
5. the page is **blank** when the ink left covers under ``INK_MM2`` (a small fraction of one
   character: a 10 pt kanji covers about 4 mm², a lower-case "i" about 0.8 mm²).

A page with more than ``DENSE_MM2`` of ink (about 50 kanji; two hole shadows and dust cover
~65 mm²) is called inked without grouping: the grouping runs only on nearly empty pages. Both
bounds, this one and the first look's, are for an A4 page and shrink with a smaller page in
proportion to its area (:func:`page_share`): dust covers a share of the paper, and a one-line slip
with 20-60 mm² of ink is no more likely to be blank than an A4 page with 2,000. On such small
objects the engine's whole reading takes ~15 ms, so the grouping (4 ms on a one-line slip, 17 ms
on a five-line receipt) cost more than a blank one could save; now they are settled by the look.

**A first look** settles most pages before any of that: steps 1-3 on the page at about
``LOOK_DPI`` (the reduction the skew estimate sweeps, :class:`pipeline.engine.geometry.Reductions`,
made once for both). More than ``LOOK_MM2`` of ink there is a page with text (or a picture), called
inked; anything less is judged as above at ``WORK_DPI``. The look can only call a page inked, never
blank: it cannot cost a page its text. At 75 DPI the benchmark's text pages show 320-3,070 mm² of
ink, its blank sheets at most 70 (two hole shadows and dust), and every page it settled the full
test called inked without grouping (``python -m benchmarks.blank``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipeline.engine.geometry import ANALYSIS_DPI, SOLID_MM, Reductions, eroded, reductions_of

WORK_DPI = 150
EDGE_CROP = 0.015  # of each side
BACKGROUND_PERCENTILE = 90
INK_CONTRAST = 24  # grey levels below the background
GAP_MM = 0.5  # ink pixels this close belong to one group (the strokes of a character)
SPECK_MM2 = 0.3  # groups smaller than this are dust or noise (a disc about 0.6 mm across)
INK_MM2 = 0.5  # a page with less ink than this is blank
DENSE_MM2 = 200.0  # this much ink: text (or a picture), no grouping needed
LOOK_DPI = ANALYSIS_DPI  # the first look: on the reduction the skew estimate sweeps (75 DPI)
LOOK_MM2 = 2 * DENSE_MM2  # this much ink at the first look: inked (and DENSE_MM2 or more at WORK_DPI)
A4_MM2 = 210.0 * 297.0  # the page the bounds above are for
HOLE_MM = (4.0, 9.0)  # a punched hole's shadow is this wide (ISO 838: 6 mm), solid and round
HOLE_BAND_MM = 25.0  # ... and its centre lies this close to an edge
HOLE_FILL = 0.6  # share of its bounding box a hole's shadow fills (a disc: 0.785)
MM_PER_INCH = 25.4
DARK_LEVEL = 128  # a pixel of the ~75-DPI reduction darker than this is dark (for a negative's share)
GROUND_CONTRAST = 96  # ground: this many grey levels darker than the paper (a band of grey 140 on white is)
NEGATIVE_SHARE = 0.5  # more of the page than this dark: a negative (white on black) ...
PAPER_SHARE = 0.05  # ... unless this much of it is light ground: paper lying on a dark platen
PAPER_LOW_PERCENTILE = 5  # a nearly empty page's paper noise: its 90th percentile less its 5th ...
PAPER_NOISE_SPREADS = 3  # ... times this is made white (scanner noise of 3-4 levels: 15-20 below the paper)
PAPER_NOISE_MIN = 12
REVERSED_MM2 = 25.0  # this much solid ground: text may be reversed out on it (text pages: 0-16; a band: 800)


@dataclass(frozen=True)
class InkReading:
    """What the ink test saw: ``ink_mm2`` after specks and hole shadows, at ``dpi`` (``first_look``:
    settled at ~``LOOK_DPI``, where ``ink_mm2`` is all the ink, ungrouped)."""

    blank: bool
    ink_mm2: float
    background: int
    dpi: float
    seconds: float
    first_look: bool = False


def ink_test(image: Image.Image, dpi: int, reductions: Reductions | None = None, first_look: bool = True) -> InkReading:
    """Whether ``image`` (a page at ``dpi``) is blank; see the module docstring. ``reductions``:
    the page's grey reductions, shared with the skew estimate; ``first_look=False``: the page is
    judged at ``WORK_DPI`` whatever the first look would have seen (to check the look against)."""
    started = time.perf_counter()
    reductions = reductions_of(image, dpi, reductions)
    share = page_share(reductions)
    looked = _first_look(reductions, share, started) if first_look else None
    if looked is not None:
        return looked
    small, work_dpi = inner(*reductions.at(WORK_DPI))
    background, count = ink_count(small)
    area = count * (MM_PER_INCH / work_dpi) ** 2
    if INK_MM2 <= area <= DENSE_MM2 * share:
        area = ink_area_mm2(np.asarray(small) <= background - INK_CONTRAST, work_dpi)
    # else: too little ink to matter, or so much that it is text (or a picture) whatever its shape
    return InkReading(area < INK_MM2, round(area, 3), background, work_dpi, time.perf_counter() - started)


@dataclass(frozen=True)
class DarkGround:
    """Where a page is dark ground rather than ink on paper: ``negative``, most of it and no paper
    in it (a negative scan, white text on black); ``solid_mm2``, the area of dark patches
    ``SOLID_MM`` or more across (a heading band, a stamp, header cells: where text may be reversed out)."""

    negative: bool
    solid_mm2: float
    seconds: float

    @property
    def may_hold_reversed_text(self) -> bool:
        """Enough solid dark ground (``REVERSED_MM2``) that white text may be set on it."""
        return self.solid_mm2 >= REVERSED_MM2


def dark_ground(reductions: Reductions) -> DarkGround:
    """The page's dark ground at ~``LOOK_DPI`` (its outer ``EDGE_CROP`` left out): a stroke's
    pixel of text is dark too, but no 1.7 mm square of it is dark all over, where a band behind
    reversed-out text is (:func:`eroded`; ~2 ms an A4 page on the reduction the first look made)."""
    started = time.perf_counter()
    small, dpi = inner(*reductions.at(LOOK_DPI))
    pixels = np.asarray(small)
    ground = pixels < background_level(small.histogram()) - GROUND_CONTRAST
    px_mm = MM_PER_INCH / dpi
    side = max(2, round(SOLID_MM / px_mm))
    solid = int(np.count_nonzero(eroded(ground, side)))
    negative = np.count_nonzero(pixels < DARK_LEVEL) > NEGATIVE_SHARE * pixels.size and not _paper_in(pixels, side)
    return DarkGround(bool(negative), round(solid * px_mm**2, 2), time.perf_counter() - started)


def _paper_in(pixels: np.ndarray, side: int) -> bool:
    """Whether a mostly dark page holds paper: light ground (``PAPER_SHARE`` of it in squares light
    all over), as a slip or a receipt scanned on a flatbed with its lid open lies on black. A
    negative's light pixels are its letters' strokes, which fill no such square."""
    return np.count_nonzero(eroded(pixels >= DARK_LEVEL, side)) > PAPER_SHARE * pixels.size


def whitened_paper(image: Image.Image, ink: InkReading) -> Image.Image:
    """A nearly empty page (one the first look did not settle: under ``LOOK_MM2`` of ink) with its
    paper made white: every pixel lighter than the paper's level less ``PAPER_NOISE_SPREADS`` times
    its noise (at least ``PAPER_NOISE_MIN``, at most ``INK_CONTRAST`` levels: what the ink test
    calls ink keeps its level) becomes 255. Any other page comes back as it is.

    Tesseract thresholds a page by Otsu's method over its whole histogram. On a page of text, ink
    and paper are its two modes; on a nearly empty one, the paper's own scanner noise is, and the
    threshold falls inside it: the engine is handed hundreds of thousands of specks. A page with one
    faint line, a small 済 or "No. 1" on it took 23-88 s of CPU a page and read junk, or
    ran past the page time-out (``benchmarks.blank``'s faint pages, ``docs/benchmarks.md``,
    "Nearly empty pages"); with its paper white, a fraction of a second, and its words."""
    if ink.first_look or image.mode == "1":  # a bilevel page has no grey noise to split
        return image
    grey = image if image.mode == "L" else image.convert("L")
    histogram = grey.histogram()
    paper, low = background_level(histogram), percentile_level(histogram, PAPER_LOW_PERCENTILE)
    spread = min(INK_CONTRAST, max(PAPER_NOISE_MIN, round(PAPER_NOISE_SPREADS * (paper - low))))
    cut = paper - spread
    if image.mode == "L":
        return image.point([255 if v >= cut else v for v in range(256)])
    white = Image.new(image.mode, image.size, "white")
    return Image.composite(white, image, grey.point([255 if v >= cut else 0 for v in range(256)]))


def page_share(reductions: Reductions) -> float:
    """The page's area as a share of an A4 page's, at most 1: what ``DENSE_MM2`` and ``LOOK_MM2``
    are scaled by."""
    page_mm2 = reductions.image.width * reductions.image.height * (MM_PER_INCH / reductions.dpi) ** 2
    return min(1.0, page_mm2 / A4_MM2)


def _first_look(reductions: Reductions, share: float, started: float) -> InkReading | None:
    """The page called inked when it shows over ``LOOK_MM2`` (times the page's ``share`` of A4) of
    ink at ~``LOOK_DPI``; else ``None`` (judged at ``WORK_DPI``)."""
    small, look_dpi = inner(*reductions.at(LOOK_DPI))
    background, count = ink_count(small)
    area = count * (MM_PER_INCH / look_dpi) ** 2
    if area <= LOOK_MM2 * share:
        return None
    return InkReading(False, round(area, 3), background, look_dpi, time.perf_counter() - started, True)


def inner(small: Image.Image, dpi: float) -> tuple[Image.Image, float]:
    """A grey reduction of the page less its outer ``EDGE_CROP``, and its DPI."""
    dy, dx = int(small.height * EDGE_CROP), int(small.width * EDGE_CROP)
    return small.crop((dx, dy, small.width - dx, small.height - dy)), dpi


def ink_count(small: Image.Image) -> tuple[int, int]:
    """(the paper's grey level, pixels at least ``INK_CONTRAST`` darker) of a grey image."""
    histogram = small.histogram()
    background = background_level(histogram)
    return background, sum(histogram[: max(0, background - INK_CONTRAST + 1)])


def background_level(histogram: list[int]) -> int:
    """The paper's grey level: the ``BACKGROUND_PERCENTILE`` of the page's histogram."""
    return percentile_level(histogram, BACKGROUND_PERCENTILE)


def percentile_level(histogram: list[int], percent: float) -> int:
    """The grey level under which ``percent`` of a histogram's pixels lie."""
    counts = np.cumsum(histogram)
    return int(np.searchsorted(counts, counts[-1] * percent / 100))


def ink_area_mm2(ink: np.ndarray, dpi: float) -> float:
    """mm² of ink in groups (pixels less than ``GAP_MM`` apart) that are neither specks nor
    punched-hole shadows."""
    ys, xs = np.nonzero(ink)
    px_mm = MM_PER_INCH / dpi
    labels = group_pixels(ys, xs, ink.shape[1], max(1, math.ceil(GAP_MM / px_mm)))
    _, group, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    top, left = np.full(len(sizes), ink.shape[0]), np.full(len(sizes), ink.shape[1])
    bottom, right = np.zeros(len(sizes), int), np.zeros(len(sizes), int)
    np.minimum.at(top, group, ys)
    np.minimum.at(left, group, xs)
    np.maximum.at(bottom, group, ys)
    np.maximum.at(right, group, xs)
    areas = sizes * px_mm**2
    boxes_mm = np.stack([top, left, bottom + 1, right + 1]) * px_mm
    holes = hole_shadows(boxes_mm, areas, (ink.shape[0] * px_mm, ink.shape[1] * px_mm))
    return float(areas[(areas >= SPECK_MM2) & ~holes].sum())


def hole_shadows(boxes_mm: np.ndarray, areas: np.ndarray, page_mm: tuple[float, float]) -> np.ndarray:
    """Which groups (bounding boxes ``top, left, bottom, right`` in mm; areas in mm²) are punched
    holes' shadows: 4-9 mm across both ways, solid (``HOLE_FILL`` of the box), near an edge."""
    top, left, bottom, right = boxes_mm
    heights, widths = bottom - top, right - left
    centre_y, centre_x = (top + bottom) / 2, (left + right) / 2
    from_edge = np.minimum.reduce([centre_y, centre_x, page_mm[0] - centre_y, page_mm[1] - centre_x])
    sized = (np.minimum(heights, widths) >= HOLE_MM[0]) & (np.maximum(heights, widths) <= HOLE_MM[1])
    return sized & (areas >= HOLE_FILL * heights * widths) & (from_edge <= HOLE_BAND_MM)


def group_pixels(ys: np.ndarray, xs: np.ndarray, width: int, reach: int) -> np.ndarray:
    """Groups of the pixels ``(ys, xs)`` (row-major, as ``np.nonzero`` gives them) in which each
    pixel is within ``reach`` pixels (either axis) of another: per pixel, its group's smallest index."""
    stride = width + reach  # columns past the edge, so a reach across it finds no pixel
    flat = ys.astype(np.int64) * stride + xs
    firsts, seconds = [], []
    forward = [(0, dx) for dx in range(1, reach + 1)] + [(dy, dx) for dy in range(1, reach + 1)
                                                         for dx in range(-reach, reach + 1)]
    for dy, dx in forward:
        target = flat + dy * stride + dx
        at = np.minimum(np.searchsorted(flat, target), len(flat) - 1)
        hit = np.nonzero(flat[at] == target)[0]
        firsts.append(hit)
        seconds.append(at[hit])
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    labels = np.arange(len(flat))
    while True:
        lowest = labels.copy()
        np.minimum.at(lowest, a, labels[b])
        np.minimum.at(lowest, b, labels[a])
        lowest = lowest[lowest]  # jump to the group's representative
        if np.array_equal(lowest, labels):
            return labels
        labels = lowest
