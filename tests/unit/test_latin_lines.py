"""Lines of Latin script read again by a Latin reader (``OCR_LATIN_LANGUAGE``), for readings in
``jpn`` alone: which lines, how the page's text takes the new reading, and the real engine on
English pages upright and on their side."""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image

from pipeline.engine.geometry import turn
from pipeline.engine.ocr import Engine, Line, mostly_latin
from pipeline.engine.reading import spliced
from pipeline.engine.stage import OcrStage, reading_stamp
from pipeline.models import PageInput
from pipeline.settings import Settings

ENGLISH = ["INVOICE No. 73996", "Bill to: Harrington & Pryce Ltd", "Attention: Margaret Ellison",
           "Design fee  qty 15  unit $527.93", "Please quote the invoice number on payment."]
WORDS = ("Harrington", "Pryce", "Attention", "Margaret", "Ellison", "Design", "invoice", "number", "payment")


@pytest.mark.parametrize(("text", "latin"), [
    ("Contract No. 40804", True), ("Phone: 03-2013-7499", True), ("業務 委託 契約 書 Contract No. 40804", True),
    ("第 3 条 再 委託 を 契約 期間 Article 3", False), ("合計 金額 ¥128,400", False), ("2024-08-15 12:30", False),
    ("ＡＢＣ 株式会社", False), ("A", False),
])
def test_a_line_is_latin_when_latin_letters_outnumber_japanese_characters(text: str, latin: bool) -> None:
    assert mostly_latin(text) is latin


def line(text: str, confidence: float = 80.0) -> Line:
    return Line((0, 0, 10, 10), text, confidence)


def test_a_changed_line_replaces_its_first_reading_in_the_page_text_spacing_aside() -> None:
    page = "業務委託契約書 Contract No. 40804\n\nDesien fee qty 25\n第3条 再委託\nDesien fee qty 25\n"
    first = (line("業務 委託 契約 書 Contract No. 40804"), line("Desien fee qty 25"), line("第 3 条 再 委託"),
             line("Desien fee qty 25"))
    again = (first[0], line("Design fee qty 25", 95), first[2], line("Design fee qty 26", 95))
    changed = [(first[1], again[1]), (first[3], again[3])]
    assert spliced(page, changed, again) == (
        "業務委託契約書 Contract No. 40804\n\nDesign fee qty 25\n第3条 再委託\nDesign fee qty 26\n")


def test_a_changed_line_not_found_in_the_page_text_rebuilds_it_from_the_lines() -> None:
    first = (line("Bill to: Harrington 人 & Pryce"), line("Desien fee"))
    again = (line("Bill to: Harrington & Pryce", 95), line("Design fee", 95))
    rebuilt = spliced("something else entirely\n", list(zip(first, again, strict=True)), again)
    assert rebuilt == "Bill to: Harrington & Pryce\nDesign fee\n"


def test_the_latin_reader_is_in_the_reading_stamp_only_when_it_reads() -> None:
    """Readings stored before the setting existed (``jpn+eng``, the default then) keep their stamp
    (pinned: the digest as it was; ``max_read_dpi``, ``invert_where_dark``, ``deskew_max_deg``,
    ``min_read_dpi``, ``drop_stamps`` and ``whiten_paper`` at their defaults then, 0, off, 12, 0, off,
    off); ``eng`` among the reading languages reads nothing again; a reading with the Latin reader
    has a stamp of its own."""
    args = ("tesseract 5.5.4", "jpn+eng (jpn:1+eng:2)", "jpn_vert:3")
    before = Settings(languages="jpn+eng", max_read_dpi=0, invert_where_dark=False, deskew_max_deg=12.0,
                      min_read_dpi=0, drop_stamps=False, whiten_paper=False)
    assert before.latin_language == "eng" and before.latin_reader == ""
    assert reading_stamp(before, *args) == reading_stamp(before.model_copy(update={"latin_language": ""}), *args)
    assert reading_stamp(before, *args) == "8b694b0a6c78ab79"
    routed = Settings(languages="jpn")
    assert routed.latin_reader == "eng"
    assert reading_stamp(routed, *args) != reading_stamp(routed.model_copy(update={"latin_language": ""}), *args)


def english_page(degrees: int = 0) -> PageInput:
    from benchmarks.scanned import A4_PX, draw_lines

    image = Image.new("L", A4_PX[300], 255)
    draw_lines(image, ENGLISH, 300, points=10)
    return PageInput(1, image=turn(image, degrees), dpi=300, dpi_source="metadata")


class LatinCountingEngine(Engine):
    """The real engine, counting the lines its Latin reader is given (at the engine seam)."""

    latin_lines = 0

    def read_latin_lines(self, image, lines, *args, **kwargs):
        LatinCountingEngine.latin_lines += sum(mostly_latin(line.text) for line in lines)
        return super().read_latin_lines(image, lines, *args, **kwargs)


@pytest.fixture(scope="module")
def latin_stage() -> OcrStage:
    stage = OcrStage(Settings(languages="jpn", latin_language="eng",
                              engine="tests.unit.test_latin_lines:LatinCountingEngine"))
    stage.setup()
    return stage


@pytest.mark.tesseract
@pytest.mark.parametrize("degrees", [0, 90, 270], ids=["upright", "turned-90", "on-its-side"])
def test_english_words_read_by_jpn_alone_are_read_again_in_english(latin_stage: OcrStage, degrees: int) -> None:
    """``jpn`` alone reads "Design" as "Desien" and "payment" as "Dayment" on this page; with the
    Latin reader every word is found, upright, turned (read line by line, its Latin lines as they
    are read) and on its side (the first reading kept, its Latin lines read again)."""
    before = LatinCountingEngine.latin_lines
    result = latin_stage.recognise(english_page(degrees))
    squashed = "".join(result.text.split())
    assert [w for w in WORDS if w not in squashed] == []
    assert "Latin lines: eng" in latin_stage.engine_stamp().languages
    if degrees != 90:
        assert LatinCountingEngine.latin_lines - before >= len(ENGLISH)


class WeakLatinCountingEngine(LatinCountingEngine):
    """The real engine, its first readings reported weak (a degraded scan's): the orientation
    passes run, find the page upright, and the first reading is kept."""

    def recognise(self, image, timeout_s, *args, **kwargs):
        return dataclasses.replace(super().recognise(image, timeout_s, *args, **kwargs), confidence=40.0)


@pytest.mark.tesseract
def test_a_weak_upright_page_kept_as_first_read_has_its_latin_lines_read_again() -> None:
    stage = OcrStage(Settings(languages="jpn", latin_language="eng",
                              engine="tests.unit.test_latin_lines:WeakLatinCountingEngine"))
    stage.setup()
    before = LatinCountingEngine.latin_lines
    result = stage.recognise(english_page())
    assert result.rotation == 0 and result.geometry_timings.get("osd_s", 0) > 0  # the passes ran
    assert LatinCountingEngine.latin_lines - before >= len(ENGLISH)
    assert [w for w in WORDS if w not in "".join(result.text.split())] == []
