"""Coloured stamps read through (``pipeline.engine.stamps``): a seal's ink made paper, the text
under it kept; red text, a filled colour panel, a grey page and a colour photograph left alone;
the same on a scanned PDF's page; and, through the real engine, the name under a seal found only so."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from benchmarks import scanned
from pipeline.engine.documents import OpenedDocument
from pipeline.engine.quality import character_error_rate
from pipeline.engine.stage import OcrStage
from pipeline.engine.stamps import stamp_boxes, without_stamps
from pipeline.settings import Settings
from tests.inputs import read_through

SEALED = scanned.scanned_pages(("sealed",), seed=11, lines=12)[0]
DPI = 300


def sealed_image() -> Image.Image:
    return Image.open(io.BytesIO(SEALED.data)).convert("RGB")


def dark_pixels(image: Image.Image, box: tuple[int, int, int, int], level: int = 128) -> int:
    return int((np.asarray(image.convert("L").crop(box)) < level).sum())


def text_page(lines: list[str], fill: tuple[int, int, int] = (0, 0, 0), points: float = 10.5) -> Image.Image:
    image = Image.new("RGB", scanned.A4_PX[DPI], "white")
    draw, size = ImageDraw.Draw(image), scanned.font_px(DPI, points)
    for i, line in enumerate(lines):
        draw.text((180, 180 + round(i * size * 1.6)), line, font=scanned.mincho(size), fill=fill)
    return image


def test_a_seal_over_a_name_is_found_and_its_ink_made_paper_while_the_text_under_it_stays() -> None:
    image = sealed_image()
    boxes = stamp_boxes(image, DPI)
    assert len(boxes) == 1
    left, top, right, bottom = boxes[0]
    seal_px = scanned.SEAL_MM * DPI / 25.4
    assert seal_px <= right - left <= seal_px + 40 and seal_px <= bottom - top <= seal_px + 40
    through, count = without_stamps(image, DPI)
    assert count == 1 and through.mode == "RGB" and through.size == image.size
    plain = Image.new("L", image.size, 255)  # the same lines without the seal: what should stay dark in its box
    scanned.draw_lines(plain, SEALED.text.split("\n"), DPI)
    before, after, text_only = (dark_pixels(i, boxes[0]) for i in (image, through, plain))
    assert after < before / 2  # the seal's ink is gone ...
    assert 0.8 * text_only <= after <= 1.3 * text_only  # ... and the text's strokes under it are not
    outside = (0, bottom + 50, image.width, image.height)
    assert np.array_equal(np.asarray(through.crop(outside)), np.asarray(image.crop(outside)))  # the rest as it was


@pytest.mark.parametrize("points", [10.5, 16, 24])
def test_red_text_is_not_taken_for_a_stamp(points: float) -> None:
    image = text_page(["請求書 重要 お支払期限 2024年5月31日", "至急 ご確認ください"], scanned.SEAL_INK, points)
    assert without_stamps(image, DPI) == (image, 0)


def test_a_filled_colour_panel_with_white_text_is_left_for_the_inverted_pass() -> None:
    image = text_page(["品名 数量 単価 金額"])
    ImageDraw.Draw(image).rectangle((180, 600, 600, 900), fill=(30, 60, 160))  # a square box, 36 x 25 mm
    ImageDraw.Draw(image).text((200, 700), "合計", font=scanned.mincho(60), fill="white")
    assert without_stamps(image, DPI) == (image, 0)


def test_grey_pages_and_colour_photographs_are_left_as_they_are() -> None:
    grey = sealed_image().convert("L")
    assert without_stamps(grey, DPI) == (grey, 0)
    noise = np.random.default_rng(5).integers(0, 256, (1200, 900, 3), dtype=np.uint8)  # colour all over
    photo = Image.fromarray(noise, "RGB")
    assert without_stamps(photo, DPI) == (photo, 0)


@pytest.mark.parametrize("drop", [True, False])
def test_a_sealed_scan_in_a_pdf_is_read_through_in_grey_and_says_so(drop: bool) -> None:
    buf = io.BytesIO()
    sealed_image().save(buf, format="PDF", resolution=float(DPI))
    with OpenedDocument(buf.getvalue(), 120_000_000, 10, DPI, drop_stamps=drop) as doc:
        page = doc.page(1)
    assert page.image is not None and page.image.mode == "L" and page.dpi_source == "pdf-scan"
    assert ("stamp" in page.warning) is drop
    with OpenedDocument(SEALED.data, 120_000_000, 10, DPI, drop_stamps=drop) as doc:
        assert ("1 coloured stamp read through" in doc.page(1).warning) is drop


@pytest.mark.tesseract
def test_the_name_under_a_seal_is_found_only_when_its_ink_is_read_through(stage: OcrStage) -> None:
    """The cause, both ways: with the seal's ink left (``drop_stamps`` off) it reads as a blot over
    the party's line and the name is lost; read through, every word is found."""
    through = read_through(stage, SEALED.key, SEALED.data)
    kept = read_through(OcrStage(Settings(drop_stamps=False)), SEALED.key, SEALED.data)
    squashed, blotted = "".join(through.text.split()), "".join(kept.text.split())
    assert all(word in squashed for word in SEALED.words), through.text
    assert character_error_rate(SEALED.text, through.text) <= scanned.cer_bound("sealed")
    company = SEALED.words[1]
    assert company not in blotted or character_error_rate(SEALED.text, kept.text) > scanned.cer_bound("sealed")


def test_the_sealed_kind_draws_its_seal_over_the_party_s_name() -> None:
    """The generator's own check: the seal's box holds the company's name on the party's line."""
    page = scanned.make_page("sealed", 12345, random.Random(3), 12, "x/")
    image = Image.open(io.BytesIO(page.data)).convert("RGB")
    (left, top, right, bottom), = stamp_boxes(image, DPI)
    plain = Image.new("L", image.size, 255)
    scanned.draw_lines(plain, page.text.split("\n")[:2], DPI)
    line_two = dark_pixels(plain, (left, top, right, bottom))
    assert line_two > 500  # the name's strokes lie under the seal
