"""Lines and columns read one by one from crops of their own (``Engine.read_lines``): the white
around each is a share of its height, so the recognizer draws its glyphs at the size it should,
and look-alikes the whole page's reading swaps (紅葉 -> 組葉 by the vertical reader, 一郎 -> 一朗)
read right."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from benchmarks import scanned
from benchmarks.geometry import _decoded
from pipeline.engine.geometry import turn
from pipeline.engine.ocr import LINE_MARGIN, _line_crop, get_engine
from pipeline.engine.stage import OcrStage
from pipeline.settings import Settings
from tests.inputs import read_through


def test_a_lines_crop_has_its_margin_kept_clear_of_its_neighbours() -> None:
    """40 px high: 10 px of white each side, less above where the line before is 8 px away (half
    the gap), and white beyond the page's edge."""
    page = Image.new("L", (400, 200), 0)  # black: any of the page in the margin would show
    line = (0, 60, 300, 100)
    crop = _line_crop(page, line, [(0, 44, 300, 52)], vertical=False, white=255)
    margin = round(LINE_MARGIN * 40)
    assert crop.size == (300 + 2 * margin, 40 + 4 + margin)
    assert crop.getpixel((0, 20)) == 255 and crop.getpixel((margin, 20)) == 0  # the page ends at x = 0


def test_a_columns_crop_is_turned_a_quarter_counter_clockwise() -> None:
    """A column read by the vertical reader lies as Tesseract lays vertical text: its top to the left."""
    page = Image.new("L", (200, 400), 255)
    page.paste(0, (50, 100, 90, 110))  # a mark at the column's top
    crop = _line_crop(page, (50, 100, 90, 300), [], vertical=True, white=255)
    margin = round(LINE_MARGIN * 40)
    assert crop.size == (200 + 2 * margin, 40 + 2 * margin)
    assert crop.getpixel((margin + 5, crop.height // 2)) == 0  # the top is now at the left



def _read(stage: OcrStage, page: scanned.ScannedPage):
    return read_through(stage, page.key, page.data)


def _page(kind: str, seed: int) -> scanned.ScannedPage:
    """The page of ``kind`` of seed ``seed`` as ``benchmarks.geometry`` makes it (every kind in turn)."""
    return next(p for p in scanned.scanned_pages(seed=seed, lines=24) if p.kind == kind)


def _squashed(text: str) -> str:
    return "".join(text.split())


@pytest.mark.tesseract
@pytest.mark.parametrize("seed", [11, 12])
def test_a_vertical_pages_look_alikes_are_read_column_by_column(stage: OcrStage, seed: int) -> None:
    """Vertical pages whose company 紅葉不動産 the vertical reader, reading the page whole, reads
    組葉 (the page proves itself sensitive first); read column by column, every word is found."""
    page = _page("vertical", seed)
    image = Image.open(io.BytesIO(page.data)).convert("L")
    whole = get_engine("jpn+eng", Settings().tessdata).read_vertical(image, 60, 300).text
    assert "紅葉不動産" in page.words and "紅葉不動産" not in _squashed(whole)
    doc = _read(stage, page)
    assert doc.pages[0].direction == "vertical"
    assert [w for w in page.words if w not in _squashed(doc.text)] == [], doc.text


@pytest.mark.tesseract
def test_a_page_turned_180_degrees_is_read_line_by_line(stage: OcrStage) -> None:
    """A page fed upside down whose 鈴木一郎 the turned page, read whole, reads 一朗; read line by
    line once it is turned, every word is found."""
    page = _page("rotated-180", 11)
    upright = turn(_decoded(page.data)[0].image, 180)  # as the stage turns it
    whole = get_engine("jpn+eng", Settings().tessdata).recognise(upright, 60, 300).text
    assert "鈴木一郎" in page.words and "鈴木一郎" not in _squashed(whole)
    doc = _read(stage, page)
    assert doc.pages[0].rotation == 180
    assert [w for w in page.words if w not in _squashed(doc.text)] == [], doc.text
