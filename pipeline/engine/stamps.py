"""Coloured stamps and seals read through: their ink made paper before a colour page goes grey.

Japanese business papers carry seals in vermilion seal ink: the issuing company's square seal
(角印) pressed over its name and address on every invoice, a personal seal (認印) over or beside
a signer's name, a received or date stamp across the body. In grey, vermilion (~215, 45, 40) is
as dark as text (luminance ~80), so Tesseract reads a seal and the lines under it as one blot
(kind ``sealed`` of ``benchmarks.scanned``: 1 of 6 words found; ``docs/benchmarks.md``, "Seals
over names"). Black over red stays black, so a scanner's colour keeps what the grey loses.

:func:`without_stamps` finds the page's stamps on a mask of coloured ink at ~``MASK_DPI``
(channels ``INK_CHROMA`` or more apart): a patch of it is a stamp when it is at least
``STAMP_MIN_MM`` across both ways and at most ``STAMP_MAX_MM`` long, no more than
``STAMP_MAX_ASPECT`` times as long as wide, with ink in no more than ``STAMP_MAX_FILL`` of its
box (strokes, not a filled panel), and lies over black ink (``OVER_TEXT_CELLS``: what a stamp
hides is text; one over nothing is left). In each stamp's box every pixel is made the grey of its
lightest channel (the box seen through a filter of the ink's colour) and the ink itself white:
paper to the engine, while the black text under it keeps its strokes.

Left as they are: red or blue *text* (a line of it is longer than ``STAMP_MAX_ASPECT`` times its
height or under ``STAMP_MIN_MM`` tall; a large red title, two characters of 24 pt, is
stamp-shaped but lies over no black text); a filled coloured panel with white text on it
(reversed text, read by the inverted pass: :mod:`pipeline.engine.blank`); a form printed in a
colour (its grid is one patch the size of the form: its labels are read as printed); a page
mostly in colour (over ``COLOUR_PAGE_SHARE`` of its mask: a photograph, a brochure).

**Pages scanned in grey** (kind ``sealed-grey``: 9 of 24 words found before): seal ink has no
colour left, but it is mid-grey (vermilion's luminance ~95, crimson's ~78, a pale pad's ~150)
where toner is black, and a seal's strokes are mid-grey through their width, where a text stroke
is mid-grey only at its edges (or through a hairline). So the grey path finds *thick mid-grey*:
pixels between ``GREY_INK_DARKEST`` and ``GREY_INK_LIGHTEST`` whose 3x3 neighbourhood is too
(:func:`grey_stamp_boxes`, ~10 CPU ms an A4 page at 300 DPI; finer pages are reduced to about
``GREY_LOOK_DPI`` first), pooled to the same ~1-mm cells, and a patch of it is a stamp by the same
shape and over-text tests. In its box, every pixel lighter than halfway between the text's black
and the seal's own level (the median of its mid-grey) is made white. Left: stamps in inks as
dark as toner (under ``GREY_INK_DARKEST``: no level tells them apart), and mid-grey stamps over
nothing; a bilevel scan has no grey left to tell by.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MASK_DPI = 25  # ~1 mm a pixel: a seal is tens of pixels, a character of body text three or four
LOOK_DPI = 75  # the page is box-reduced to about this first (a thin stroke keeps its colour)
INK_CHROMA = 50  # max - min channel of coloured ink at LOOK_DPI (black, grey, paper, JPEG fringes: < 30)
INK_DARKEST = 200  # and its darkest channel at most this (a tinted paper is light in every channel)
STAMP_MIN_MM = 8.0  # a personal seal is 9-12 mm, a company's 18-24, a date stamp ~20
STAMP_MAX_MM = 60.0  # the longest side: a received or PAID stamp is 30-50 mm; a form's coloured grid is larger
STAMP_MAX_ASPECT = 2.5
STAMP_MAX_FILL = 0.85  # of its box's cells (set by any ink in them): a 21-mm seal 0.68-0.71; a filled panel ~1
COLOUR_PAGE_SHARE = 0.3
BLACK_LEVEL = 110  # black ink (toner) at LOOK_DPI: every channel this dark or darker, none coloured
OVER_TEXT_CELLS = 4  # black cells in a stamp's box (mm² at MASK_DPI): it lies over text
DROP_CHROMA = 40  # in a stamp's box, a pixel with channels this far apart is ink or its fringe
TEXT_LEVEL = 128  # ... and made white when its lightest channel is at least this (black over ink is darker)
GROW_MM = 1.0  # around each stamp's box, for the fringes of its outer strokes
GREY_INK_DARKEST = 60  # in grey: seal ink is lighter (vermilion ~95, crimson ~78), a toner stroke's core darker
GREY_INK_LIGHTEST = 190  # ... and darker than this (paper, and the light fringe of every stroke)
GREY_BLACK = 40  # black cells in grey: text this dark
STAMPS_READ_THROUGH = "colour+grey"  # in the reading stamp: readings made when only colour pages' were are redone
GREY_LOOK_DPI = 300  # a grey page scanned finer is reduced to about this first (the 3x3 core is ~0.25 mm)
Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive), in full-resolution pixels


def without_stamps(image: Image.Image, dpi: int) -> tuple[Image.Image, int]:
    """``image`` with its stamps' ink made paper (see the module docstring: coloured stamps on a
    colour page, mid-grey ones on a grey page), and how many stamps there were. Bilevel pages,
    and pages with none, come back as they are."""
    if image.mode not in ("RGB", "L") or dpi <= 0:
        return image, 0
    grey = image.mode == "L"
    boxes = grey_stamp_boxes(image, dpi) if grey else stamp_boxes(image, dpi)
    if not boxes:
        return image, 0
    out = image.copy()
    out.info = dict(image.info)
    for box in boxes:
        out.paste((_grey_ink_made_paper if grey else _ink_made_grey)(out.crop(box)), box[:2])
    return out, len(boxes)


def stamps_note(count: int, grey: bool = False) -> str:
    """The page's note of its stamps read through (empty for none); ``grey``: a page scanned in grey."""
    if not count:
        return ""
    stamps = f"{count} {'' if grey else 'coloured '}stamp{'s' if count > 1 else ''}"
    return f"{stamps} read through ({'mid-grey ' if grey else ''}seal ink made paper)"


def stamp_boxes(image: Image.Image, dpi: int) -> list[Box]:
    """The boxes (full-resolution pixels, grown by ``GROW_MM``) of the RGB page's coloured stamps."""
    look = max(1, round(dpi / LOOK_DPI))
    pool = max(1, round(LOOK_DPI / MASK_DPI))
    lightest, darkest = _channel_bounds(image.reduce(look) if look > 1 else image)
    mask = _pooled((lightest - darkest >= INK_CHROMA) & (darkest <= INK_DARKEST), pool)
    black = _pooled((lightest - darkest < INK_CHROMA) & (lightest <= BLACK_LEVEL), pool)
    return _stamps_in(mask, black, look * pool, dpi, image.size)


def grey_stamp_boxes(image: Image.Image, dpi: int) -> list[Box]:
    """The boxes (full-resolution pixels, grown by ``GROW_MM``) of the grey page's mid-grey stamps:
    patches of thick mid-grey (see the module docstring) shaped like a stamp and over black text."""
    look = max(1, round(dpi / GREY_LOOK_DPI))
    levels = np.asarray(image.reduce(look) if look > 1 else image)
    pool = max(1, round(dpi / look / MASK_DPI))
    mid = _thick((levels > GREY_INK_DARKEST) & (levels < GREY_INK_LIGHTEST))
    return _stamps_in(_pooled(mid, pool), _pooled(levels <= GREY_BLACK, pool), look * pool, dpi, image.size)


def _stamps_in(mask: np.ndarray, black: np.ndarray, scale: int, dpi: int, size: tuple[int, int]) -> list[Box]:
    """The boxes of ``mask``'s stamp-shaped patches over at least ``OVER_TEXT_CELLS`` of ``black``
    (both masks of cells ``scale`` full-resolution pixels across), grown by ``GROW_MM``; none on a
    page whose mask covers over ``COLOUR_PAGE_SHARE`` of it."""
    if not mask.any() or mask.mean() > COLOUR_PAGE_SHARE:
        return []
    mm_per_cell = 25.4 * scale / dpi
    grow = round(GROW_MM * dpi / 25.4)
    width, height = size
    boxes = []
    for top, left, bottom, right, cells in _patches(mask):
        if _stamp_shaped(bottom - top, right - left, cells, mm_per_cell) and \
                black[top:bottom, left:right].sum() >= OVER_TEXT_CELLS:
            boxes.append((max(0, left * scale - grow), max(0, top * scale - grow),
                          min(width, right * scale + grow), min(height, bottom * scale + grow)))
    return boxes


def _thick(mask: np.ndarray) -> np.ndarray:
    """``mask`` less every pixel whose 3x3 neighbourhood is not all set (an erosion, row pass then
    column pass): what is left is a stroke's core, where the stroke is 3 pixels wide or more."""
    rows = mask.copy()
    rows[:, 1:-1] &= mask[:, :-2] & mask[:, 2:]
    rows[:, [0, -1]] = False
    out = rows.copy()
    out[1:-1] &= rows[:-2] & rows[2:]
    out[[0, -1]] = False
    return out


def _channel_bounds(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's lightest and darkest channel (int16), channel by channel (a reduction over
    the colour axis of an interleaved array is ~10x slower)."""
    red, green, blue = (np.asarray(band, dtype=np.int16) for band in image.split())
    return np.maximum(np.maximum(red, green), blue), np.minimum(np.minimum(red, green), blue)


def _stamp_shaped(height: int, width: int, cells: int, mm_per_cell: float) -> bool:
    """Whether a patch of ``cells`` coloured cells in a ``height`` x ``width`` box is a stamp."""
    short, long = sorted((height * mm_per_cell, width * mm_per_cell))
    return (short >= STAMP_MIN_MM and long <= min(STAMP_MAX_MM, STAMP_MAX_ASPECT * short)
            and cells <= STAMP_MAX_FILL * height * width)


def _pooled(mask: np.ndarray, pool: int) -> np.ndarray:
    """``mask`` reduced ``pool`` times: a cell is set when any pixel of its square is. Row by row,
    then column by column, with in-place ORs (~1 ms for an A4 page at 300 DPI; ``any`` over the
    two axes of a 4-D view takes ~20)."""
    if pool <= 1:
        return mask
    height, width = (mask.shape[0] // pool) * pool, (mask.shape[1] // pool) * pool
    if not height or not width:
        return mask
    bands = mask[:height, :width].reshape(height // pool, pool, width)
    rows = bands[:, 0].copy()
    for i in range(1, pool):
        rows |= bands[:, i]
    columns = rows.reshape(height // pool, width // pool, pool)
    cells = columns[:, :, 0].copy()
    for i in range(1, pool):
        cells |= columns[:, :, i]
    return cells


def _patches(mask: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """Each patch of ``mask`` as (top, left, bottom, right, cells), bottom and right exclusive:
    cells within two of each other (a gap of one) belong to the same patch, so a seal's characters
    and its border are one. A flood fill over the cells set, by flat index on a mask padded by two
    (no bounds to test): 10-30 ms for 10,000 cells (a page of coloured text all over); ~1 ms for a seal."""
    height, width = mask.shape
    padded = np.zeros((height + 4, width + 4), bool)
    padded[2:-2, 2:-2] = mask
    row = width + 4
    steps = [dy * row + dx for dy in range(-2, 3) for dx in range(-2, 3) if dy or dx]
    todo = set(np.flatnonzero(padded).tolist())
    patches = []
    while todo:
        stack = [todo.pop()]
        members = []
        while stack:
            cell = stack.pop()
            members.append(cell)
            for step in steps:
                if cell + step in todo:
                    todo.discard(cell + step)
                    stack.append(cell + step)
        ys, xs = np.divmod(np.array(members), row)
        patches.append((int(ys.min()) - 2, int(xs.min()) - 2, int(ys.max()) - 1, int(xs.max()) - 1, len(members)))
    return patches


def _grey_ink_made_paper(crop: Image.Image) -> Image.Image:
    """``crop`` (grey) with every pixel lighter than halfway between its text's black (its first
    percentile, at most ``GREY_BLACK``) and its seal's level (the median of its mid-grey) made
    white: the seal's strokes and their fringes turn paper, the text's black strokes, and black
    under the seal (a darker blend), stay."""
    levels = np.array(crop)
    ink = levels[(levels > GREY_INK_DARKEST) & (levels < GREY_INK_LIGHTEST)]
    if not ink.size:
        return crop
    black = min(GREY_BLACK, float(np.percentile(levels, 1)))
    levels[levels >= (black + float(np.median(ink))) / 2] = 255
    return Image.fromarray(levels, "L")


def _ink_made_grey(crop: Image.Image) -> Image.Image:
    """``crop`` with each pixel the grey of its lightest channel (vermilion -> ~215), and a
    coloured one (channels ``DROP_CHROMA`` or more apart) that is then lighter than
    ``TEXT_LEVEL`` made white: the seal's ink and the darker fringes a JPEG leaves around its
    strokes (~150-170) turn paper. Black and grey pixels, and black over the ink (a dark blend),
    keep their level: the text under the stamp keeps its strokes."""
    grey, darkest = _channel_bounds(crop)
    grey[(grey - darkest >= DROP_CHROMA) & (grey >= TEXT_LEVEL)] = 255
    return Image.fromarray(grey.astype(np.uint8), "L").convert("RGB")
