"""The ink test (no server): blank sheets as scanners make them are blank; nearly empty, faint
and benchmark pages are not; and the stage gives a blank page no engine call, a faint one one."""

from __future__ import annotations

import logging
import random
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from benchmarks.blank import SamplePage, blank_pages, faint_lines, faint_pages, verdicts
from benchmarks.scanned import scanned_pages
from pipeline.devstack.samples import encode
from pipeline.engine.blank import DENSE_MM2, LOOK_DPI, LOOK_MM2, WORK_DPI, group_pixels, ink_test
from pipeline.engine.documents import OpenedDocument
from pipeline.engine.geometry import Reductions, estimate_skew
from pipeline.engine.stage import OcrStage
from pipeline.models import FetchedObject, Job
from pipeline.settings import Settings
from pipeline.sinks.opensearch import OpenSearchReadings
from pipeline.sources.fetch import content_digest
from tests.fault import engines

BLANK = blank_pages()
FAINT = faint_pages()


@pytest.mark.parametrize("page", BLANK, ids=lambda p: p.name)
def test_blank_sheets_with_noise_dust_holes_and_artefacts_are_blank(page) -> None:
    assert [r[1] for r in verdicts(page)] == [True], verdicts(page)


@pytest.mark.parametrize("page", FAINT, ids=lambda p: p.name)
def test_nearly_empty_and_faint_pages_with_text_are_not(page) -> None:
    assert [r[1] for r in verdicts(page)] == [False], verdicts(page)


def test_no_scanned_page_of_any_kind_is_blank() -> None:
    for page in scanned_pages(lines=6):
        assert [r[1] for r in verdicts(SamplePage(page.key, None, "bytes", True, page.data))] == [False], page.kind


def test_a_page_the_first_look_settles_is_one_the_full_test_calls_inked_without_grouping() -> None:
    """The look at 75 DPI calls a page inked only when the test at 150 DPI would have, by its
    ``DENSE_MM2`` rule alone (no grouping), and it settles every scanned kind's text page."""
    for page in scanned_pages(lines=6):
        image, dpi = SamplePage(page.key, None, "bytes", True, page.data).decoded()[0]
        look, full = ink_test(image, dpi), ink_test(image, dpi, first_look=False)
        assert look.first_look and not look.blank, (page.kind, look)
        assert not full.blank and full.ink_mm2 > DENSE_MM2, (page.kind, full)


def test_a_small_object_with_text_is_settled_by_the_first_look_and_a_white_one_is_still_blank() -> None:
    """A one-line slip and a five-line receipt (20-250 mm² of ink: under the A4 bounds) are called
    inked at the first look, their bounds scaled to their area, with no grouping; a white slip
    is still blank."""
    from benchmarks.smalldocs import small_docs

    for doc in small_docs(2, "line") + small_docs(2, "receipt"):
        image, dpi = SamplePage(doc.key, None, "bytes", True, doc.data).decoded()[0]
        reading = ink_test(image, dpi)
        assert reading.first_look and not reading.blank, (doc.key, reading)
        assert reading.ink_mm2 < LOOK_MM2  # an A4 page showing this little ink is not settled by the look
    white = Image.new("L", (600, 120), 255)
    assert ink_test(white, 300).blank


def test_nearly_empty_pages_are_judged_at_150_dpi_on_the_reduction_the_skew_estimate_reuses() -> None:
    for page in (FAINT[0], BLANK[3]):  # a faint line; punched holes and noise
        shared = Reductions(page.image, 300)
        reading = ink_test(page.image, 300, shared)
        assert not reading.first_look and reading.dpi == WORK_DPI
        estimate_skew(page.image, 300, reductions=shared)
        assert shared.made == (LOOK_DPI, WORK_DPI)  # nothing reduced twice


def test_groups_join_pixels_within_reach_and_not_across_the_edge() -> None:
    import numpy as np

    ys, xs = np.array([0, 0, 0, 1, 5]), np.array([0, 2, 9, 0, 9])  # (0,9) and (1,0) are far apart
    labels = group_pixels(ys, xs, 10, 2)
    assert labels.tolist() == [0, 0, 2, 0, 4]


def test_a_page_is_judged_at_150_dpi_against_its_paper() -> None:
    reading = ink_test(BLANK[1].image, 300)
    assert reading.blank and reading.dpi == 150 and reading.background >= 250


def _fetched(data: bytes) -> FetchedObject:
    return FetchedObject(data, len(data), "etag", "", 0.0, content_digest(data))


@pytest.fixture(scope="module")
def counting_stage() -> OcrStage:
    stage = OcrStage(Settings(engine="tests.fault.engines:CountingEngine", detect_orientation=False,
                              vertical_language=""))
    stage.setup()
    return stage


@pytest.mark.tesseract
def test_a_blank_back_skips_the_engine_and_a_faint_page_does_not(counting_stage: OcrStage) -> None:
    engines.ENGINE_CALLS.unlink(missing_ok=True)
    faint = faint_lines(["秘密保持契約書 Contract 2024"], 215, a4=True)
    blank = next(p.decoded()[0][0] for p in BLANK if p.name == "blank-holes-dust-jpeg")
    data = encode([faint, blank.convert("L")], "TIFF")

    doc = counting_stage.process_fetched(Job("b", "duplex.tif"), _fetched(data))

    front, back = doc.pages
    assert front.source == "ocr" and "Contract" in front.text
    assert back.source == "blank" and back.text == "" and back.ocr_s == 0
    assert engines.engine_calls() == 1  # the front only
    assert doc.blank_pages == 1 and doc.skipped_work()["blank_pages"] == 1


@pytest.mark.tesseract
def test_with_the_lookup_down_the_object_is_read_and_a_warning_logged(caplog) -> None:
    down = OpenSearchReadings.from_settings(Settings(opensearch_url="http://127.0.0.1:9"))
    stage = OcrStage(Settings(skip_blank=False), prior=down)
    data = blank_pages()[0].data

    with caplog.at_level(logging.WARNING, logger="ocr_cluster.stage"):
        doc = stage.process_fetched(Job("b", "white.png"), _fetched(data))

    assert doc.reused_from == "" and doc.pages[0].source in ("empty", "ocr")
    assert doc.sha256 == content_digest(data)
    assert "prior reading lookup failed" in caplog.text


@pytest.mark.tesseract
def test_the_setting_turns_the_lookup_off() -> None:
    from pipeline.fleet.raycluster import warm_stage

    assert warm_stage(Settings(reuse_duplicates=False)).prior is None
    assert isinstance(warm_stage(Settings()).prior, OpenSearchReadings)


def test_dark_ground_is_a_band_or_a_negative_never_the_text_of_a_page() -> None:
    """Text pages of every scanned kind show no solid dark ground (but the platen a page lies on)
    and none is a negative; a heading band shows it (about the band's area, less its reversed-out
    letters); a negative is most of its page dark."""
    from benchmarks.engine_settings import reversed_probes
    from pipeline.engine.blank import REVERSED_MM2, dark_ground
    from pipeline.engine.geometry import inverted

    stage = OcrStage(Settings())
    for page in scanned_pages(lines=6):
        with stage.open(page.data) as doc:
            decoded = doc.page(1)
            ground = dark_ground(Reductions(decoded.image, decoded.dpi or 300))
        assert not ground.negative, (page.kind, ground)
        if not page.kind.startswith("platen-"):  # a page on a black platen is dark ground at its edges
            assert ground.solid_mm2 < REVERSED_MM2, (page.kind, ground)
    for probe in reversed_probes(2, 5):
        ground = dark_ground(Reductions(probe.page.image, 300))
        assert ground.may_hold_reversed_text and 400 < ground.solid_mm2 < 1400 and not ground.negative, ground
        assert dark_ground(Reductions(inverted(probe.page.image), 300)).negative


@pytest.fixture(scope="module")
def reversed_pages() -> list:
    from benchmarks.engine_settings import reversed_probes

    return reversed_probes(2, 9)


def _read(stage: OcrStage, image: Image.Image) -> tuple[str, str]:
    from pipeline.models import PageInput

    result = stage.recognise(PageInput(1, image=image.copy(), dpi=300, dpi_source="metadata"))
    return "".join(result.text.split()), result.warning


def test_a_heading_reversed_out_on_a_dark_band_is_read(reversed_pages: list) -> None:
    """White on black and on mid grey: the band's words are found with the settings as they ship,
    lost without the inverted-line pass the band turns on (what happened before it)."""
    ships, never = OcrStage(Settings()), OcrStage(Settings(invert_where_dark=False))
    for probe in reversed_pages:
        text, _ = _read(ships, probe.page.image)
        assert [w for w in probe.words if w not in text] == [], (probe.kind, text)
    text, _ = _read(never, reversed_pages[0].page.image)
    assert [w for w in reversed_pages[0].words[3:] if w not in text], text  # the band's words were lost


def test_a_negative_scan_is_read_black_on_white_not_called_blank(reversed_pages: list) -> None:
    from pipeline.engine.geometry import inverted

    probe = reversed_pages[0]
    text, warning = _read(OcrStage(Settings()), inverted(probe.page.image))
    assert [w for w in probe.words if w not in text] == [] and "negative" in warning, (text, warning)


def test_a_slip_on_a_dark_platen_is_read_as_it_is_not_as_a_negative() -> None:
    """A receipt scanned with the lid open lies on black that is most of the page: it holds paper,
    so it is no negative; its words are read."""
    from benchmarks.scanned import A4_PX, draw_lines, horizontal_lines

    lines = horizontal_lines(random.Random(3), 6021, "若葉食品", "中村由美", 8)
    slip = Image.new("L", (1300, 1000), 255)
    draw_lines(slip, [line[:22] for line in lines], 300)
    page = Image.new("L", A4_PX[300], 20)
    page.paste(slip, (500, 900))
    text, warning = _read(OcrStage(Settings()), page)
    assert "negative" not in warning and all(w in text for w in ("委託者", "若葉食品", "中村由美")), (warning, text)


def test_a_nearly_empty_pages_paper_noise_is_made_white_and_its_ink_kept() -> None:
    """Scanner noise (3-4 levels) on white and on grey paper turns 255; a faint line (215, 40 levels
    under the paper) keeps its level; a page the first look settles, and a bilevel one, as they are."""
    from pipeline.engine.blank import whitened_paper

    for page in (p for p in FAINT if p.name in ("faint-line-215", "faint-word-on-grey-200")):
        image, dpi = page.decoded()[0]
        ink = ink_test(image, dpi)
        assert not ink.first_look
        before, after = np.asarray(image.convert("L")), np.asarray(whitened_paper(image, ink).convert("L"))
        paper = before > np.percentile(before, 50) - 8
        assert (after[paper] == 255).mean() > 0.99, page.name  # the noise is gone ...
        dark = before < np.median(before) - 30  # ink by the ink test's measure (24 levels under the paper)
        assert dark.sum() > 100 and np.array_equal(after[dark], before[dark]), page.name  # ... the ink is not
    text_page = scanned_pages(("upright-300",), lines=12)[0]
    with OpenedDocument(text_page.data, 120_000_000, 10, 300) as doc:
        image = doc.page(1).image.copy()
    settled = ink_test(image, 300)
    assert settled.first_look and whitened_paper(image, settled) is image
    bilevel = image.convert("1")
    assert whitened_paper(bilevel, replace(settled, first_look=False)) is bilevel


@pytest.mark.tesseract
@pytest.mark.parametrize(("name", "words"), [("faint-line-190", "Contract terms"), ("faint-line-215", "Contract terms"),
                                             ("faint-word-on-grey-200", "No. 5"), ("short-word-No. 1-8pt", "No. 1")])
def test_a_nearly_empty_page_with_words_on_it_is_read_for_them(stage: OcrStage, name: str, words: str) -> None:
    """Read as scanned, Tesseract's threshold fell inside the paper's noise: 23-88 CPU s a page,
    junk text, or the page time-out (``benchmarks.nearlyempty``); with the paper whitened, its words.
    (The faint lines' Japanese half is read or not by the draw of the page's noise, unseeded: the
    Latin half is read either way.)"""
    page = next(p for p in FAINT if p.name == name)
    doc = stage.process_fetched(Job("b", f"{name}.png"), _fetched(page.data))
    assert "".join(words.split()) in "".join(doc.text.split()), doc.text
