"""A page on its way to the engine: straightened, read, and read again only when it must be.

Scanners and fax servers feed pages skewed, sideways and upside down, and Japanese documents are
often set vertically (columns right to left). Each page goes through:

1. **Skew** (every page; with the ink test before it ~7 CPU ms, ~0.4% of a reading):
   :func:`pipeline.engine.geometry.estimate_skew`, on the grey reduction the ink test made
   (:class:`pipeline.engine.geometry.Reductions`); a page skewed by
   ``deskew_min_deg`` or more is straightened before anything reads it.
2. **The reading**: the page's languages, full layout analysis, at the page's resolution. An
   upright horizontal page ends here (its cost: step 1 and one look at the blocks).
3. **Writing direction**, from the layout analysis of step 2, which marks blocks whose text runs
   top to bottom: when such a block reads weakly, the page less its well-read blocks is read by
   the vertical reader (``jpn_vert``: its layout, psm 5, finds the columns, each then read alone
   from a crop of its own, :meth:`~pipeline.engine.ocr.Engine.read_lines`) and kept when it reads
   better. A page read wholly so is ``vertical``; with well-read horizontal blocks beside it (a
   header, a table), ``mixed``: those are read again as regions of their own (the whole page's layout cuts a header into
   blocks that interleave), and the text is the regions above the columns, top to bottom, then
   the columns right to left, then the regions below.
4. **Orientation**, only when the reading is weak (mean confidence under ``weak_confidence``:
   upright pages read at 79-93, pages upside down or sideways at ~30) or has weak vertical
   blocks: Tesseract's OSD names the turn; when it is confident enough the page is turned, read
   line by line (each line from a crop of its own, as the columns are), step 3 runs on it, and
   the better reading is kept. Otherwise step 3 runs on the page as it is.
   A page turned 270 degrees (counter-clockwise) needs none of it: Tesseract takes its lines for
   vertical columns and, turning them as it turns columns, reads them upright (86-94; on 40 such
   pages of 8 kinds mean CER 0.43% against 0.42% turned back, the same 113 of 114 words, at 1.1
   CPU s a page against 2.9); a reading that strong whose vertical blocks hold its text is kept
   as it is, the page recorded as turned 90 degrees clockwise.
5. **Last resort** for a page still weak whose script is Japanese or Chinese: the whole page read
   by the vertical reader (vertical text the layout analysis did not mark), kept if better.
6. **Latin lines**, when a Latin reader is set (``OCR_LATIN_LANGUAGE``, for readings in ``jpn``
   alone, which reads English words with letters lost: "Design" as "Desien"): each line of Latin
   script (:func:`~pipeline.engine.ocr.mostly_latin`) of a horizontal page is read again by it
   from a crop of its own, and kept as it reads it when it reads it more confidently. A page
   kept as first read (upright, weak or not, or on its side) gets this step last; a page turned
   in step 4, line by line as it is read; vertical and mixed pages do not.

Every extra pass is charged to its own timing, and passes that would run past the page's time-out
are skipped (the best reading so far is kept, with a warning). The choices are in the record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageOps

from pipeline.engine.geometry import Reductions, estimate_skew, straighten, turn
from pipeline.engine.ocr import Engine, Line, Recognised, mostly_latin, weighted_confidence
from pipeline.errors import EngineTimeout

VERTICAL_SCRIPTS = frozenset({"Japanese", "Han", "HanS", "HanT", "Korean", "Hangul"})
TURNED_MARGIN = 2.0  # a page OSD turned is read upright as usual: kept unless it reads clearly worse
BLOCK_MARGIN = 6  # pixels around a well-read block when it is painted out
NEAR_COLUMN = 24  # a block this close to a vertical block belongs to the vertical body
ON_ITS_SIDE_TURN = 90  # clockwise, as OSD names it: the turn of a page Tesseract read as vertical lines
ON_ITS_SIDE_SHARE = 0.9  # of a reading's characters, in strong vertical blocks: a page on its side
Box = tuple[int, int, int, int]  # left, top, right, bottom
REGION_BORDER = 16  # white pixels around a horizontal region read on its own


@dataclass(frozen=True)
class GeometryOptions:
    """When the extra passes run (the values and their defaults are :class:`pipeline.settings.Settings`')."""

    deskew_min_deg: float
    deskew_max_deg: float
    weak_confidence: float
    rotate_min_confidence: float


@dataclass
class PageReading:
    """What reading one page found, and what it took."""

    text: str
    confidence: float
    rotation: int = 0
    skew: float = 0.0
    direction: str = "horizontal"  # "horizontal" | "vertical" | "mixed"
    script: str = ""  # OSD's script, when OSD ran
    seconds: dict[str, float] = field(default_factory=dict)
    warning: str = ""


class _Deadline:
    """The page's time-out shared by its passes."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._end = time.perf_counter() + timeout_s

    def left(self) -> float:
        return self._end - time.perf_counter()


def read_page(
    engine: Engine, image: Image.Image, dpi: int, timeout_s: float, options: GeometryOptions,
    reductions: Reductions | None = None,
) -> PageReading:
    """Read one page upright, straight and in its writing direction. Raises :class:`EngineTimeout`
    when even the first reading does not finish within ``timeout_s``. ``reductions``: the page's
    grey reductions when the ink test made them (the skew estimate reuses them)."""
    deadline = _Deadline(timeout_s)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    skew = estimate_skew(image, dpi, options.deskew_max_deg, reductions) if options.deskew_min_deg > 0 else 0.0
    if abs(skew) >= options.deskew_min_deg:
        image = straighten(image, skew)
    else:
        skew = 0.0
    seconds["skew_s"] = time.perf_counter() - started
    first = engine.recognise(image, timeout_s, dpi, layout=engine.reads_vertical, lines=engine.reads_latin)
    seconds["ocr_s"] = first.seconds
    best = PageReading(first.text, first.confidence, skew=skew, seconds=seconds)
    weak_blocks = [b for b in first.vertical_blocks if b.confidence < options.weak_confidence]
    sideways = bool(first.vertical_blocks)  # vertical text, or horizontal text on its side
    if best.confidence >= options.weak_confidence and not sideways:
        return _with_latin_lines(engine, image, dpi, deadline, first, best)
    if _read_on_its_side(first, options):
        best.rotation = ON_ITS_SIDE_TURN
        return _with_latin_lines(engine, image, dpi, deadline, first, best, sideways=True)
    try:
        turned = _try_turning(engine, image, dpi, deadline, options, best)
        if turned is not None:
            best = turned
        elif weak_blocks:
            best = _with_vertical_blocks(engine, image, dpi, deadline, options, first, best)
        if best.confidence < options.weak_confidence:
            best = _try_whole_vertical(engine, image, dpi, deadline, best)
    except EngineTimeout:
        best.warning = f"page kept as read so far: its {timeout_s:g} s time-out ran out in the geometry passes"
    if best.text == first.text and best.rotation == 0 and best.direction == "horizontal":  # kept as first read
        best = _with_latin_lines(engine, image, dpi, deadline, first, best)
    return best


def _with_latin_lines(
    engine: Engine, image: Image.Image, dpi: int, deadline: _Deadline, recognised: Recognised, reading: PageReading,
    sideways: bool = False,
) -> PageReading:
    """Step 6, on a page kept as first read (``sideways``: one read on its side): its Latin lines
    read again by the Latin reader (charged to the first reading, ``ocr_s``: it is how the page's
    languages are read); a line it reads more confidently replaces the first reading's, in the
    text and in the confidence (by the line's share of the characters)."""
    if not engine.reads_latin or not any(mostly_latin(line.text) for line in recognised.lines):
        return reading
    started = time.perf_counter()
    try:
        again = engine.read_latin_lines(image, recognised.lines, _left(deadline), dpi, sideways)
    except EngineTimeout:
        ran_out = f"page kept as read so far: its {deadline.timeout_s:g} s time-out ran out reading Latin lines"
        reading.warning = "; ".join(filter(None, (reading.warning, ran_out)))
        return reading
    finally:
        _charge(reading.seconds, "ocr_s", time.perf_counter() - started)
    changed = [(old, new) for old, new in zip(recognised.lines, again, strict=True) if new.text != old.text]
    if changed:
        reading.text = spliced(reading.text, changed, again)
        chars = max(1, sum(len(line.text) for line in recognised.lines))
        reading.confidence += sum((new.confidence - old.confidence) * len(old.text) for old, new in changed) / chars
    return reading


def spliced(text: str, changed: list[tuple[Line, Line]], lines: tuple[Line, ...]) -> str:
    """``text`` with each changed line's first reading replaced by its new one, found in order by
    its characters (spacing aside: the page's text spaces Japanese words as the engine measured
    them, a line's own text puts one space between words). When one is not found the text is
    ``lines``' texts, one a line: a correction is never dropped."""
    rows = text.split("\n")
    cursor = 0
    for old, new in changed:
        key = _squashed(old.text)
        found = next((i for i in range(cursor, len(rows)) if _squashed(rows[i]) == key), None)
        if found is None:
            return "\n".join(line.text for line in lines) + "\n"
        rows[found], cursor = new.text, found + 1
    return "\n".join(rows)


def _squashed(text: str) -> str:
    return "".join(text.split())


def _read_on_its_side(recognised: Recognised, options: GeometryOptions) -> bool:
    """Whether the first reading is a page turned 270 degrees read right already: strong, its
    vertical blocks each strong, and holding ``ON_ITS_SIDE_SHARE`` of its characters (vertical
    Japanese read by the horizontal reader reads at 4-27, a page turned 90 degrees at ~38)."""
    if recognised.confidence < options.weak_confidence:
        return False
    if any(b.confidence < options.weak_confidence for b in recognised.vertical_blocks):
        return False
    vertical = sum(len(b.text.strip()) for b in recognised.vertical_blocks)
    return vertical >= ON_ITS_SIDE_SHARE * max(1, sum(len(b.text.strip()) for b in recognised.blocks))


def _with_vertical_blocks(
    engine: Engine, image: Image.Image, dpi: int, deadline: _Deadline, options: GeometryOptions,
    recognised: Recognised, reading: PageReading,
) -> PageReading:
    """Step 3, on a page with weak vertical blocks: the page without its well-read horizontal
    regions (painted out) read as one vertical block, kept when it reads better than the weak
    blocks did.

    The vertical body is read whole, not block by block: the layout analysis of a horizontal
    reading splits a vertical body into blocks that cut columns in half, and leaves columns out;
    and what it reads well inside or beside a vertical block is glyphs of its columns read
    across them (94 for two characters of neighbouring columns), so only well-read blocks clear
    of every vertical block are kept as horizontal text. Those are read again region by region
    (:func:`_horizontal_regions`), and the page's text is the regions above the vertical body,
    top to bottom, then its columns, then the regions below it.
    """
    columns = [_grown(b.box, image, NEAR_COLUMN) for b in recognised.vertical_blocks]
    kept = [b for b in recognised.blocks
            if b.confidence >= options.weak_confidence and not any(_overlap(b.box, c) for c in columns)]
    weak = [b for b in recognised.blocks if b not in kept]
    regions = _horizontal_regions(engine, image, dpi, deadline, [b.box for b in kept], columns, reading.seconds)
    rest = image.copy() if regions else image
    draw = ImageDraw.Draw(rest)
    for box, _ in regions:
        draw.rectangle(_grown(box, image), fill=255 if rest.mode == "L" else "white")
    again = engine.read_lines(rest, _left(deadline), dpi, vertical=True)
    _charge(reading.seconds, "vertical_s", again.seconds)
    weak_confidence = weighted_confidence([b.confidence for b in weak], [b.text for b in weak])
    if again.confidence <= weak_confidence or not again.text.strip():
        return reading
    body_top = min(b.box[1] for b in recognised.vertical_blocks)
    above = [r for box, r in regions if box[1] < body_top]
    below = [r for box, r in regions if box[1] >= body_top]
    parts = [*above, again, *below]
    reading.text = "\n".join(p.text.strip("\n") for p in parts)
    chars = [max(1, len(p.text.strip())) for p in parts]
    reading.confidence = sum(p.confidence * n for p, n in zip(parts, chars, strict=True)) / sum(chars)
    reading.direction = "mixed" if regions else "vertical"
    return reading


def _horizontal_regions(
    engine: Engine, image: Image.Image, dpi: int, deadline: _Deadline, boxes: list[Box],
    columns: list[Box], seconds: dict[str, float],
) -> list[tuple[Box, Recognised]]:
    """The well-read horizontal blocks merged into regions (top to bottom), each read again on
    its own (charged to ``vertical_s``): the layout analysis of the whole page cuts a header into
    blocks that interleave (lines 1 and 3 in one block, line 2 in another) and leaves a glyph of
    it in a weak block of its own, which the vertical reader then loses. A region read alone
    comes back whole, its lines in order (~0.06 s a three-line header)."""
    regions = []
    white = 255 if image.mode == "L" else "white"
    for box in _merged(boxes, columns):
        crop = ImageOps.expand(image.crop(_grown(box, image)), REGION_BORDER, fill=white)
        again = engine.recognise(crop, _left(deadline), dpi)
        _charge(seconds, "vertical_s", again.seconds)
        if again.text.strip():
            regions.append((box, again))
    return sorted(regions, key=lambda r: (r[0][1], r[0][0]))


def _merged(boxes: list[Box], columns: list[Box]) -> list[Box]:
    """``boxes`` merged where they lie within ``NEAR_COLUMN`` of each other, unless the merged box
    would reach into a vertical column."""
    merged = list(boxes)
    while (pair := _mergeable(merged, columns)) is not None:
        i, j = pair
        merged[i] = _union(merged[i], merged.pop(j))
    return merged


def _mergeable(boxes: list[Box], columns: list[Box]) -> tuple[int, int] | None:
    """The first two of ``boxes`` (``i < j``) that :func:`_merged` would merge, or ``None``."""
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            union = _union(a, boxes[j])
            if _overlap(_spread(a, NEAR_COLUMN), boxes[j]) and not any(_overlap(union, c) for c in columns):
                return i, j
    return None


def _try_turning(
    engine: Engine, image: Image.Image, dpi: int, deadline: _Deadline, options: GeometryOptions, best: PageReading
) -> PageReading | None:
    """Step 4: OSD on a weak page; the page turned and read again (steps 2-3) when OSD is
    confident; the turned reading when it is the better one, else ``None``."""
    started = time.perf_counter()
    degrees, confidence, best.script = engine.detect_orientation(image, dpi)
    _charge(best.seconds, "osd_s", time.perf_counter() - started)
    if degrees == 0 or confidence < options.rotate_min_confidence:
        return None
    page = turn(image, degrees)
    started = time.perf_counter()
    recognised = engine.read_lines(page, _left(deadline), dpi)
    if recognised is None:  # vertical blocks: read whole, as the first reading was
        recognised = engine.recognise(page, _left(deadline), dpi, layout=engine.reads_vertical)
    _charge(best.seconds, "turn_s", time.perf_counter() - started)
    again = PageReading(recognised.text, recognised.confidence, degrees, best.skew, script=best.script,
                        seconds=best.seconds)
    if recognised.vertical_blocks:
        again = _with_vertical_blocks(engine, page, dpi, deadline, options, recognised, again)
    return again if again.confidence >= best.confidence - TURNED_MARGIN else None


def _try_whole_vertical(
    engine: Engine, image: Image.Image, dpi: int, deadline: _Deadline, best: PageReading
) -> PageReading:
    """Step 5: a weak page in a script set vertically, read whole by the vertical reader."""
    if not engine.reads_vertical or best.script not in VERTICAL_SCRIPTS or best.direction != "horizontal":
        return best
    page = turn(image, best.rotation)
    again = engine.read_vertical(page, _left(deadline), dpi)
    _charge(best.seconds, "vertical_s", again.seconds)
    if again.confidence <= best.confidence or not again.text.strip():
        return best
    return PageReading(again.text, again.confidence, best.rotation, best.skew, "vertical", best.script, best.seconds)


def _grown(box: tuple[int, int, int, int], image: Image.Image, margin: int = 0) -> tuple[int, int, int, int]:
    """``box`` with ``margin`` (default ``BLOCK_MARGIN``) around it, within the image."""
    left, top, right, bottom = box
    margin = margin or BLOCK_MARGIN
    return (max(0, left - margin), max(0, top - margin),
            min(image.width - 1, right + margin), min(image.height - 1, bottom + margin))


def _spread(box: Box, margin: int) -> Box:
    """``box`` with ``margin`` around it (unbounded)."""
    return box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _left(deadline: _Deadline) -> float:
    """Seconds the next pass may take (the first reading always gets the whole time-out)."""
    left = deadline.left()
    if left <= 0.05:
        raise EngineTimeout("the page's time-out ran out")
    return left


def _charge(seconds: dict[str, float], name: str, value: float) -> None:
    seconds[name] = seconds.get(name, 0.0) + value
