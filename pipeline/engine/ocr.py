"""The engine: one warm Tesseract per process, single-threaded, with a per-page time-out.

The program owns the thread budget: ``OMP_THREAD_LIMIT=1`` is set before Tesseract is loaded
(without it a page takes ~17 s instead of ~2 s on 2 cores), and one engine runs per process.
Beside the reading languages it holds the readers a page may need on its way
(:mod:`pipeline.engine.reading` decides when), loaded on first use and then kept warm:
Tesseract's orientation detector (``osd``), a vertical reader (``jpn_vert``, one block of
vertical text, ``--psm 5``) and, when set, a Latin reader (``eng``: lines of Latin script read
again, see :func:`mostly_latin`). Every reading is told the page's resolution.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

from pipeline.engine.textclean import CJK
from pipeline.errors import ConfigError, EngineTimeout

# OpenMP reads the limit once, when Tesseract's library loads: set it before anything loads it.
LIMIT_BEFORE_ENGINE = "tesserocr" not in sys.modules or os.environ.get("OMP_THREAD_LIMIT") == "1"
os.environ["OMP_THREAD_LIMIT"] = "1"

TESSERACT_RETRY_CERTAINTY = -2.5  # Tesseract's stopper_nondict_certainty_base (see reading_variables)


@dataclass(frozen=True)
class Block:
    """One block of the engine's layout: where it is, whether its text runs top to bottom (or
    its lines lie on their side: Tesseract marks vertical columns either way)."""

    box: tuple[int, int, int, int]
    vertical: bool
    confidence: float
    text: str


@dataclass(frozen=True)
class Line:
    """One text line of a reading: where it is, what was read, how confidently."""

    box: tuple[int, int, int, int]
    text: str
    confidence: float


@dataclass(frozen=True)
class Recognised:
    """The engine's answer for one image (``blocks``: its layout, ``lines``: its text lines, each
    when asked for)."""

    text: str
    confidence: float
    seconds: float
    blocks: tuple[Block, ...] = ()
    lines: tuple[Line, ...] = ()

    @property
    def vertical_blocks(self) -> tuple[Block, ...]:
        """The blocks the layout analysis found set vertically."""
        return tuple(b for b in self.blocks if b.vertical)


class Engine:
    """A warm ``PyTessBaseAPI``: the language data is loaded once, then reused for every page."""

    def __init__(
        self, languages: str, tessdata: str, vertical: str = "jpn_vert", orientation: bool = True, invert: bool = False,
        dictionary: bool = True, retry_certainty: float = TESSERACT_RETRY_CERTAINTY, latin: str = "",
    ) -> None:
        import tesserocr

        check_languages(required_languages(languages, vertical, orientation, latin), tessdata)
        self.languages = languages
        self.tessdata = tessdata
        self.version = "tesseract " + tesserocr.tesseract_version().split()[1]
        self.variables = reading_variables(invert, dictionary, retry_certainty)
        # The vertical and Latin readers are one language each (no stretch is read again); the
        # vertical one read worse without the word lists (vertical and mixed pages,
        # ``benchmarks.engine_settings``), and English words are what the Latin one is for: both keep them.
        self.one_language_variables = reading_variables(invert)
        self._api = tesserocr.PyTessBaseAPI(path=tessdata, lang=languages, variables=self.variables)
        self._vertical_language = vertical
        self._orientation = orientation
        self._latin_language = latin
        self._vertical_api = None
        self._osd_api = None
        self._latin_api = None
        self._inverting = invert

    @property
    def reads_vertical(self) -> bool:
        """Whether this engine has a vertical reader."""
        return bool(self._vertical_language)

    @property
    def detects_orientation(self) -> bool:
        """Whether this engine has an orientation detector."""
        return self._orientation

    @property
    def reads_latin(self) -> bool:
        """Whether this engine reads lines of Latin script again with a Latin reader."""
        return bool(self._latin_language)

    def invert_lines(self, on: bool) -> None:
        """Turn Tesseract's inverted-line pass on or off for the pages that follow, in every reader
        loaded (and those loaded later): the stage turns it on for a page with dark ground that may
        hold reversed-out text (:func:`pipeline.engine.blank.dark_ground`). With several reading
        languages (``jpn+eng``) it reaches the first; the others keep what they were started with."""
        if on == self._inverting:
            return
        self._inverting = on
        for api in (self._api, self._vertical_api, self._latin_api):
            if api is not None:
                api.SetVariable("tessedit_do_invert", "1" if on else "0")

    def _reader_variables(self) -> dict[str, str]:
        """A one-language reader's variables, its inverted-line pass as the engine's is now."""
        return {**self.one_language_variables, "tessedit_do_invert": "1" if self._inverting else "0"}

    def load_readers(self) -> None:
        """Load the vertical and Latin readers and OSD now (``validate`` does: a broken file
        shows at boot)."""
        if self.reads_vertical:
            self._vertical()
        if self._orientation:
            self._osd()
        if self.reads_latin:
            self._latin()

    def _vertical(self):
        """The vertical reader, loaded on the first page that needs it (~0.3 s once): the two
        extra readers cost a worker 66 MiB (77 -> 143 MiB), which horizontal-only work need not pay."""
        if self._vertical_api is None:
            import tesserocr

            self._vertical_api = tesserocr.PyTessBaseAPI(
                path=self.tessdata, lang=self._vertical_language, psm=tesserocr.PSM.SINGLE_BLOCK_VERT_TEXT,
                variables=self._reader_variables(),
            )
        return self._vertical_api

    def _latin(self):
        """The Latin reader (one line at a time, psm 13), loaded on first use."""
        if self._latin_api is None:
            import tesserocr

            self._latin_api = tesserocr.PyTessBaseAPI(
                path=self.tessdata, lang=self._latin_language, psm=tesserocr.PSM.RAW_LINE,
                variables=self._reader_variables(),
            )
        return self._latin_api

    def _osd(self):
        """Tesseract's orientation detector, loaded on first use."""
        if self._osd_api is None:
            import tesserocr

            self._osd_api = tesserocr.PyTessBaseAPI(path=self.tessdata, lang="osd", psm=tesserocr.PSM.OSD_ONLY)
        return self._osd_api

    def recognise(
        self, image: Image.Image, timeout_s: float, dpi: int = 300, layout: bool = False, lines: bool = False
    ) -> Recognised:
        """OCR one page image at ``dpi``; raises :class:`EngineTimeout` past ``timeout_s``.

        ``layout``: also return the blocks of the layout analysis (to find vertical ones);
        ``lines``: also return the text lines (to read Latin ones again).
        """
        return _read(self._api, image, timeout_s, dpi, layout, lines)

    def read_latin_lines(self, image: Image.Image, lines: tuple[Line, ...], timeout_s: float,
                         dpi: int = 300, sideways: bool = False) -> tuple[Line, ...]:
        """``lines`` of a reading of ``image``, those of Latin script (:func:`mostly_latin`) read
        again by the Latin reader, each from a crop of its own, and kept as it reads them when it
        reads them more confidently (``sideways``: lines running top to bottom, their crops
        turned upright as columns are). Raises :class:`EngineTimeout` past ``timeout_s``."""
        if not self.reads_latin:
            raise ConfigError("this engine has no Latin reader (OCR_LATIN_LANGUAGE is empty)")
        started = time.perf_counter()
        white = white_of(image)
        boxes = [line.box for line in lines]
        again = []
        for line in lines:
            if mostly_latin(line.text):
                crop = _line_crop(image, line.box, [b for b in boxes if b != line.box], sideways, white)
                text, confidence = _latin_or(self._latin(), crop, dpi, _time_left(started, timeout_s), timeout_s,
                                             line.text, line.confidence)
                line = Line(line.box, text, confidence)
            again.append(line)
        return tuple(again)

    def read_vertical(self, image: Image.Image, timeout_s: float, dpi: int = 300) -> Recognised:
        """Read the image as one block of vertical text (columns right to left)."""
        if not self.reads_vertical:
            raise ConfigError("this engine has no vertical reader (OCR_VERTICAL_LANGUAGE is empty)")
        return _read(self._vertical(), image, timeout_s, dpi, False)

    def read_lines(
        self, image: Image.Image, timeout_s: float, dpi: int = 300, vertical: bool = False
    ) -> Recognised | None:
        """Read the image line by line: the layout analysis finds the lines (``vertical``: the
        vertical reader's columns), and each is read alone as a raw line (psm 13) from a crop
        with ``LINE_MARGIN`` of its height around it (:func:`read_line_by_line`). Its blocks are
        those of the layout; ``None`` when the horizontal reader finds a block whose lines lie on
        their side or run top to bottom (read such a page with :meth:`recognise`)."""
        if vertical and not self.reads_vertical:
            raise ConfigError("this engine has no vertical reader (OCR_VERTICAL_LANGUAGE is empty)")
        latin = self._latin() if self.reads_latin and not vertical else None
        return read_line_by_line(self._vertical() if vertical else self._api, image, timeout_s, dpi, vertical, latin)

    def detect_orientation(self, image: Image.Image, dpi: int = 300) -> tuple[int, float, str]:
        """(clockwise degrees the page is turned, confidence, script) from Tesseract's OSD;
        (0, 0.0, "") when it cannot tell (too little text)."""
        if not self._orientation:
            return 0, 0.0, ""
        osd = self._osd()
        set_pixels(osd, image, dpi)
        try:
            found = osd.DetectOrientationScript()
        except RuntimeError:
            found = None
        finally:
            osd.Clear()
        if not found:
            return 0, 0.0, ""
        return int(found["orient_deg"]), float(found["orient_conf"]), str(found["script_name"])

    def close(self) -> None:
        """Free the engine."""
        for api in (self._api, self._vertical_api, self._osd_api, self._latin_api):
            if api is not None:
                api.End()


def _read(api, image: Image.Image, timeout_s: float, dpi: int, layout: bool, lines: bool = False) -> Recognised:
    started = time.perf_counter()
    set_pixels(api, image, dpi)
    try:
        if not api.Recognize(timeout=int(timeout_s * 1000)):
            raise EngineTimeout(f"the engine gave up on the page after {timeout_s:g} s")
        text = api.GetUTF8Text()
        confidence = float(api.MeanTextConf())
        blocks = layout_blocks(api) if layout else ()
        found = text_lines(api) if lines else ()
    finally:
        api.Clear()
    return Recognised(text, confidence, time.perf_counter() - started, blocks, found)


def text_lines(api) -> tuple[Line, ...]:
    """The text lines of the last recognition in reading order (lines with no text left out)."""
    from tesserocr import RIL, iterate_level

    iterator = api.GetIterator()
    found = []
    for line in iterate_level(iterator, RIL.TEXTLINE) if iterator is not None else ():
        box = line.BoundingBox(RIL.TEXTLINE)
        try:
            text = line.GetUTF8Text(RIL.TEXTLINE) or ""
        except RuntimeError:  # tesserocr's answer for a line with no text
            continue
        if box is not None and text.strip():
            found.append(Line(tuple(box), text.strip(), float(line.Confidence(RIL.TEXTLINE))))
    return tuple(found)


_LATIN_LETTER = re.compile(r"[A-Za-z]")
_CJK_CHARACTER = re.compile(f"[{CJK}]")
LATIN_MIN_LETTERS = 2


def mostly_latin(text: str) -> bool:
    """Whether a line read is Latin script: at least ``LATIN_MIN_LETTERS`` Latin letters, and
    more of them than Japanese characters (``Contract No. 4080`` and ``Phone: 03-2013`` are;
    a Japanese line with a word of English in it is not; nor is a line of figures)."""
    letters = len(_LATIN_LETTER.findall(text))
    return letters >= LATIN_MIN_LETTERS and letters > len(_CJK_CHARACTER.findall(text))


# The white kept around a line (a column) read on its own, as a share of its height (width): the
# recognizer scales the line image, white and all, to its input height, so the white decides how
# large the glyphs are drawn. Read whole, a page's line gets the row's ascender and descender
# allowance and padding around it, and look-alikes swap (郎/朗, 紅/組, さ/ざ); on the benchmark's
# pages 0.25 read best (0.1-0.15 and 0.35-0.5 lost characters and words).
LINE_MARGIN = 0.25


def read_line_by_line(
    api, image: Image.Image, timeout_s: float, dpi: int, vertical: bool, latin=None
) -> Recognised | None:
    """The layout analysis of ``api`` (its own page segmentation mode), then each line read from a
    crop of its own at psm 13 (``vertical``: a column, turned a quarter counter-clockwise as
    Tesseract turns vertical text). ``blocks``: the layout's (none for a vertical reading);
    ``None`` for a horizontal reading that found vertical blocks (the caller reads those whole).
    ``latin``: a Latin reader, which reads a line of Latin script again (the more confident
    reading is kept)."""
    from tesserocr import PSM

    started = time.perf_counter()
    white = white_of(image)
    layout = _layout_lines(api, image, dpi)
    if not vertical and any(sideways for _, sideways, _ in layout):
        return None
    mode = api.GetPageSegMode()
    api.SetPageSegMode(PSM.RAW_LINE)
    blocks = []
    try:
        for box, sideways, lines in layout:
            texts, confidences = [], []
            for line in lines:
                crop = _line_crop(image, line, [other for _, _, ls in layout for other in ls if other != line],
                                  vertical, white)
                text, confidence = _read_crop(api, crop, dpi, _time_left(started, timeout_s), timeout_s)
                if latin is not None and mostly_latin(text):
                    text, confidence = _latin_or(latin, crop, dpi, _time_left(started, timeout_s), timeout_s,
                                                 text, confidence)
                if text:
                    texts.append(text)
                    confidences.append(confidence)
            if texts:
                blocks.append(Block(box, sideways, weighted_confidence(confidences, texts), "\n".join(texts) + "\n"))
    finally:
        api.SetPageSegMode(mode)
    text = "\n".join(b.text for b in blocks)
    confidence = weighted_confidence([b.confidence for b in blocks], [b.text for b in blocks])
    return Recognised(text, confidence, time.perf_counter() - started, () if vertical else tuple(blocks))


def white_of(image: Image.Image) -> int | tuple[int, ...]:
    """White in ``image``'s mode (what a crop is padded with)."""
    return 255 if image.mode == "L" else (255,) * len(image.mode)


def _time_left(started: float, timeout_s: float) -> float:
    """Seconds left of ``timeout_s`` since ``started``; raises :class:`EngineTimeout` when none are."""
    left = timeout_s - (time.perf_counter() - started)
    if left <= 0.05:
        raise EngineTimeout(f"the engine gave up on the page after {timeout_s:g} s")
    return left


def _latin_or(latin, crop: Image.Image, dpi: int, left_s: float, timeout_s: float, text: str,
              confidence: float) -> tuple[str, float]:
    """The Latin reader's (text, confidence) of a line's crop when it reads it more confidently
    than ``confidence``, else (``text``, ``confidence``)."""
    again, again_confidence = _read_crop(latin, crop, dpi, left_s, timeout_s)
    return (again, again_confidence) if again and again_confidence > confidence else (text, confidence)


def _read_crop(api, crop: Image.Image, dpi: int, left_s: float, timeout_s: float) -> tuple[str, float]:
    """(text, mean confidence) of one line's crop, read in ``api``'s mode within ``left_s``."""
    set_pixels(api, crop, dpi)
    try:
        if not api.Recognize(timeout=int(left_s * 1000)):
            raise EngineTimeout(f"the engine gave up on the page after {timeout_s:g} s")
        return api.GetUTF8Text().strip(), float(api.MeanTextConf())
    finally:
        api.Clear()


def _layout_lines(api, image: Image.Image, dpi: int) -> list[tuple[tuple[int, int, int, int], bool, list]]:
    """The layout analysis of ``api``: per block in reading order, its box, whether it lies on its
    side, and its lines' boxes."""
    from tesserocr import RIL, iterate_level

    set_pixels(api, image, dpi)
    try:
        iterator = api.AnalyseLayout()
        layout: list[tuple[tuple[int, int, int, int], bool, list]] = []
        for line in iterate_level(iterator, RIL.TEXTLINE) if iterator is not None else ():
            if not layout or line.IsAtBeginningOf(RIL.BLOCK):
                block = line.BoundingBox(RIL.BLOCK)
                layout.append((tuple(block or (0, 0, 0, 0)), _sideways(line.Orientation()), []))
            box = line.BoundingBox(RIL.TEXTLINE)
            if box is not None:
                layout[-1][2].append(tuple(box))
        return layout
    finally:
        api.Clear()


def _line_crop(image: Image.Image, line: tuple[int, int, int, int], others: list, vertical: bool, white) -> Image.Image:
    """The line with ``LINE_MARGIN`` of its height (a column: of its width) of white on each
    side across it and along it, each side's margin kept clear of any other line's box (half the
    gap at most), the crop padded with white where the page ends; a column turned a quarter
    counter-clockwise."""
    left, top, right, bottom = line
    margin = round(LINE_MARGIN * ((right - left) if vertical else (bottom - top)))
    sides = [margin] * 4  # left, top, right, bottom
    for o in others:
        if o[0] < right and left < o[2]:  # above or below
            if o[3] <= top:
                sides[1] = min(sides[1], (top - o[3]) // 2)
            elif o[1] >= bottom:
                sides[3] = min(sides[3], (o[1] - bottom) // 2)
        if o[1] < bottom and top < o[3]:  # beside
            if o[2] <= left:
                sides[0] = min(sides[0], (left - o[2]) // 2)
            elif o[0] >= right:
                sides[2] = min(sides[2], (o[0] - right) // 2)
    box = (left - sides[0], top - sides[1], right + sides[2], bottom + sides[3])
    inside = (max(0, box[0]), max(0, box[1]), min(image.width, box[2]), min(image.height, box[3]))
    crop = image.crop(inside)
    if inside != box:
        canvas = Image.new(image.mode, (box[2] - box[0], box[3] - box[1]), white)
        canvas.paste(crop, (inside[0] - box[0], inside[1] - box[1]))
        crop = canvas
    return crop.transpose(Image.Transpose.ROTATE_90) if vertical else crop


def weighted_confidence(confidences: list[float], texts: list[str]) -> float:
    """The mean of ``confidences`` weighted by the characters of ``texts`` (0.0 for none)."""
    chars = [max(1, len(t.strip())) for t in texts]
    return sum(c * n for c, n in zip(confidences, chars, strict=True)) / max(1, sum(chars))


def _sideways(orientation: tuple) -> bool:
    """A block whose text runs top to bottom, or whose lines the layout analysis found on their
    side (it marks vertical columns either way)."""
    page_orientation, writing_direction = orientation[0], orientation[1]
    return writing_direction == _TOP_TO_BOTTOM or page_orientation in _ON_ITS_SIDE


def layout_blocks(api) -> tuple[Block, ...]:
    """The text blocks of the last recognition in reading order, when any of them is vertical;
    ``()`` for a page set horizontally throughout (the usual page pays for no block's text)."""
    from tesserocr import RIL, iterate_level

    iterator = api.GetIterator()
    if iterator is None:
        return ()
    if not any(_sideways(b.Orientation()) for b in iterate_level(iterator, RIL.BLOCK)):
        return ()
    iterator = api.GetIterator()
    blocks = []
    for block in iterate_level(iterator, RIL.BLOCK):
        box = block.BoundingBox(RIL.BLOCK)
        text = block.GetUTF8Text(RIL.BLOCK) or ""
        if box is None or not text.strip():
            continue
        vertical = _sideways(block.Orientation())
        blocks.append(Block(tuple(box), vertical, float(block.Confidence(RIL.BLOCK)), text))
    return tuple(blocks)


_BYTES_PER_PIXEL = {"L": 1, "RGB": 3, "RGBA": 4}
# Tesseract rejects a text row as noise when too many of its blobs are smaller than this fraction
# of the x-height (default 0.5). Kanji in a Mincho face break into many thin strokes, and whole
# lines of them were dropped (a line of 24 on a contract page: CER 1.7%, two of three names lost).
# At 0.1 the line is read and 38 other pages (the benchmark's and Mincho ones) read identically.
NOISE_SIZE_LIMIT = "0.1"


def reading_variables(
    invert: bool, dictionary: bool = True, retry_certainty: float = TESSERACT_RETRY_CERTAINTY
) -> dict[str, str]:
    """The Tesseract variables every reader is initialised with (at ``Init``, so each loaded
    language gets them, not only the first; ``SetVariable`` reaches only the first).

    - the noise limit (``NOISE_SIZE_LIMIT``);
    - ``invert``: whether weak lines are read a second time inverted (``tessedit_do_invert``, on
      in Tesseract 5). Off by default: on the benchmark's 45 pages of 19 kinds it changed no
      character and cost 9% of the CPU (``python -m benchmarks.engine_settings``);
    - ``dictionary``: the LSTM's search guided by the language's word lists
      (``lstm_use_matrix``, on in Tesseract). Off, the word lists are not loaded and a word's
      acceptance is judged by the language's own stopper, whose threshold is then ours:
    - ``retry_certainty``: with several languages (``jpn+eng``) Tesseract reads each stretch
      of words with the language that read the last one and, when any word of it comes out
      under this certainty (``stopper_nondict_certainty_base``), reads the stretch again with
      the other languages and keeps the better. At Tesseract's -2.5 one weak kanji sends a
      whole Japanese line to ``eng``; with the LSTM's word lists loaded the threshold cannot be
      set at all (their stopper keeps its defaults).
    """
    return {"textord_noise_sizelimit": NOISE_SIZE_LIMIT, "tessedit_do_invert": "1" if invert else "0",
            "lstm_use_matrix": "1" if dictionary else "0", "stopper_nondict_certainty_base": f"{retry_certainty:g}"}


_TOP_TO_BOTTOM = 2  # tesserocr.WritingDirection.TOP_TO_BOTTOM
_ON_ITS_SIDE = (1, 3)  # tesserocr.Orientation.PAGE_RIGHT, PAGE_LEFT


def set_pixels(api, image: Image.Image, dpi: int) -> None:
    """Hand the page's raw pixels to Tesseract (``SetImageBytes``), and its resolution.

    ``SetImageBytes`` carries no resolution; without ``SetSourceResolution`` Tesseract assumes
    70 DPI and its layout analysis drops whole runs of lines of ordinary 300-DPI pages
    (:mod:`pipeline.engine.documents`).

    tesserocr's ``SetImage(PIL.Image)`` re-encodes the image (as PNG for a decoded page) for
    Leptonica to decode again: ~0.07 s of a 300-DPI A4 page's ~0.4 s. Raw pixels skip both, and
    the text is better for it (``python -m benchmarks.engine_input``, the README's run: CER 0.76%
    -> 0.50% on clean pages, 3.29% -> 0.77% on degraded ones). Other modes are converted to 8-bit
    grey first.
    """
    if image.mode not in _BYTES_PER_PIXEL:
        image = image.convert("L")
    depth = _BYTES_PER_PIXEL[image.mode]
    api.SetImageBytes(image.tobytes(), image.width, image.height, depth, depth * image.width)
    api.SetSourceResolution(int(dpi))


def required_languages(languages: str, vertical: str = "jpn_vert", orientation: bool = True, latin: str = "") -> str:
    """Every language file an engine loads: the reading languages, the vertical reader, OSD, the
    Latin reader."""
    return "+".join(filter(None, (languages, vertical, "osd" if orientation else "", latin)))


def check_languages(languages: str, tessdata: str) -> None:
    """Raise :class:`ConfigError` naming each missing ``.traineddata`` file."""
    missing = [lang for lang in languages.split("+") if not (Path(tessdata) / f"{lang}.traineddata").is_file()]
    if missing:
        raise ConfigError(
            f"no language data for {', '.join(missing)} in {tessdata} "
            "(Debian: apt-get install " + " ".join(f"tesseract-ocr-{m.replace('_', '-')}" for m in missing) + ")"
        )


def get_engine(
    languages: str, tessdata: str, engine: str = "pipeline.engine.ocr:Engine", vertical: str = "jpn_vert",
    orientation: bool = True, invert: bool = False, dictionary: bool = True,
    retry_certainty: float = TESSERACT_RETRY_CERTAINTY, latin: str = "",
) -> Engine:
    """The process's warm engine for these languages (created on first use).

    ``engine`` names the class as ``module:Class`` (the seam where tests inject faults);
    ``vertical``: the vertical reader's language ("" for none); ``orientation``: load OSD;
    ``invert``: Tesseract's inverted-line pass; ``dictionary``, ``retry_certainty``: see
    :func:`reading_variables`; ``latin``: the Latin reader's language ("" for none).
    """
    return _warm_engine(languages, tessdata, engine, vertical, orientation, invert, dictionary, retry_certainty,
                        latin)


def engine_for(settings) -> Engine:
    """The process's warm engine as ``settings`` (a :class:`~pipeline.settings.Settings`) name it."""
    s = settings
    return get_engine(s.languages, s.tessdata, s.engine, s.vertical_language, s.detect_orientation, s.invert_pass,
                      s.lstm_dictionary, s.retry_certainty, s.latin_reader)


@lru_cache(maxsize=4)
def _warm_engine(
    languages: str, tessdata: str, engine: str, vertical: str, orientation: bool, invert: bool, dictionary: bool,
    retry_certainty: float, latin: str,
) -> Engine:
    import importlib

    module, _, name = engine.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load the engine {engine!r}: {exc}") from None
    return cls(languages, tessdata, vertical, orientation, invert, dictionary, retry_certainty, latin)


@lru_cache(maxsize=8)
def language_data_version(languages: str, tessdata: str) -> str:
    """A short fingerprint of each language file, e.g. ``jpn:3f2a9c1b+eng:0c4d…``."""
    parts = []
    for lang in languages.split("+"):
        path = Path(tessdata) / f"{lang}.traineddata"
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            digest.update(fh.read(1 << 20))
        digest.update(str(path.stat().st_size).encode())
        parts.append(f"{lang}:{digest.hexdigest()[:8]}")
    return "+".join(parts)
