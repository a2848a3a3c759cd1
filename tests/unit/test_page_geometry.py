"""Pages as scanners make them, read by the real engine through the stage: each kind found by its
own words, within a CER bound for its kind, with what was done to it in the record."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from benchmarks import scanned
from pipeline.engine.ocr import get_engine
from pipeline.engine.quality import character_error_rate
from pipeline.engine.stage import OcrStage
from pipeline.settings import Settings
from tests.inputs import read_through

pytestmark = pytest.mark.tesseract

PAGES = {p.kind: p for p in scanned.scanned_pages(lines=12)}


def read(stage: OcrStage, page: scanned.ScannedPage):
    return read_through(stage, page.key, page.data)


@pytest.fixture(scope="module")
def docs(stage: OcrStage) -> dict:
    """Each kind read once (the tests below look at different sides of the same reading)."""
    return {kind: read(stage, page) for kind, page in PAGES.items()}


@pytest.mark.parametrize("kind", scanned.KINDS)
def test_each_kind_of_page_is_found_by_its_own_words(docs: dict, kind: str) -> None:
    """Found: all but one of its words read exactly (the engine confuses a kanji now and then: 郎/朗,
    邦/部; ``benchmarks.geometry`` counts them all); within its kind's CER bound."""
    page, doc = PAGES[kind], docs[kind]
    squashed = "".join(doc.text.split())
    missed = [w for w in page.words if w not in squashed]
    assert len(missed) <= 1, (missed, doc.text)
    assert character_error_rate(page.text, doc.text) <= scanned.cer_bound(kind), doc.text


@pytest.mark.parametrize(("kind", "rotation"), [("rotated-90", 270), ("rotated-180", 180)])
def test_a_page_fed_the_wrong_way_is_turned_and_says_so(docs: dict, kind: str, rotation: int) -> None:
    page = docs[kind].pages[0]
    assert (page.rotation, page.direction) == (rotation, "horizontal")
    assert page.geometry_timings["osd_s"] > 0 and page.geometry_timings["turn_s"] > 0


def test_a_page_turned_270_degrees_is_read_once_and_says_so(docs: dict) -> None:
    """Tesseract reads its lines as vertical columns, upright: the first reading is kept (no OSD,
    no second reading), and the record says the page lay turned 90 degrees clockwise."""
    page = docs["rotated-270"].pages[0]
    assert (page.rotation, page.direction) == (90, "horizontal")
    assert set(page.geometry_timings) == {"skew_s", "ink_s"} and page.geometry_s < 0.1 * page.ocr_s


def test_a_skewed_page_is_straightened_by_its_angle(docs: dict) -> None:
    page = docs["skewed-10"].pages[0]
    assert 9.7 <= abs(page.skew) <= 10.3 and page.rotation == 0


@pytest.mark.parametrize(("kind", "direction"), [("vertical", "vertical"), ("mixed", "mixed")])
def test_vertical_text_is_read_as_vertical(docs: dict, kind: str, direction: str) -> None:
    page = docs[kind].pages[0]
    assert page.direction == direction and page.geometry_timings["vertical_s"] > 0


@pytest.mark.parametrize("seed", [32, 1])
def test_a_mixed_pages_header_comes_first_whole_and_in_order(stage: OcrStage, seed: int) -> None:
    """Pages whose header the whole page's layout analysis cuts badly: on seed 32 into a block of
    lines 1 and 3 and one of line 2 less its first kanji (read 1, 3, 2, and 富 lost); on seed 1 its
    company line is read as Latin letters ("Ase Rin"). Read region by region, the header comes
    back as set, top to bottom, before the columns."""
    page = scanned.scanned_pages(("mixed",), seed=seed, lines=12)[0]
    doc = read(stage, page)
    header = "".join("".join(page.text.split("\n")[:2]).split()) + "2024年5月1日"  # the columns follow the date
    assert "".join(doc.text.split()).startswith(header), doc.text
    assert doc.pages[0].direction == "mixed"
    assert character_error_rate(page.text, doc.text) <= 0.02, doc.text


@pytest.mark.parametrize(("kind", "dpi", "source"), [
    ("upright-300", 300, "metadata"), ("upright-300-nodpi", 300, "paper-size"),
    ("upright-200", 300, "metadata"), ("upright-200-nodpi", 300, "paper-size"), ("rotated-180", 300, "pdf-scan"),
])
def test_the_record_says_which_resolution_was_used(docs: dict, kind: str, dpi: int, source: str) -> None:
    """``dpi``: what the engine was told (a 200-DPI scan is read enlarged to ``OCR_MIN_READ_DPI``);
    ``dpi_source``: where the page's own resolution came from."""
    page = docs[kind].pages[0]
    assert (page.dpi, page.dpi_source) == (dpi, source)
    assert docs[kind].to_source()["pages"][0]["dpi_source"] == source


@pytest.mark.parametrize("kind", ["upright-300", "upright-200-nodpi"])
def test_an_upright_page_pays_for_no_extra_pass(docs: dict, kind: str) -> None:
    page = docs[kind].pages[0]
    # ink_s: the blank test, run on every page image; its cost sits inside the same 10% bound
    assert set(page.geometry_timings) == {"skew_s", "ink_s"} and page.geometry_s < 0.1 * page.ocr_s
    assert (page.rotation, page.skew, page.direction) == (0, 0.0, "horizontal")


def test_the_engine_is_told_the_resolution(stage: OcrStage) -> None:
    """A Mincho page whose lines Tesseract drops when it assumes 70 DPI (the page proves itself
    sensitive first, so this test fails if the stage stops passing the resolution)."""
    page = scanned.scanned_pages(("upright-300",), seed=17, lines=12)[0]
    image = Image.open(io.BytesIO(page.data)).convert("L")
    assumed = get_engine("jpn+eng", Settings().tessdata).recognise(image, 60, dpi=70).text
    assert character_error_rate(page.text, assumed) > 0.2
    assert character_error_rate(page.text, read(stage, page).text) <= 0.01
