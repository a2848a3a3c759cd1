"""Stamps read through (``pipeline.engine.stamps``): a seal's ink made paper, the text under it
kept, on a colour scan and on a grey one; red text, a filled panel, a page without stamps, a
photograph and a bilevel page left alone; the same on a scanned PDF's page; and, through the real
engine, the name under a seal found only so."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from benchmarks import scanned
from pipeline.engine.documents import OpenedDocument
from pipeline.engine.quality import character_error_rate
from pipeline.engine.stage import OcrStage
from pipeline.engine.stamps import grey_stamp_boxes, stamp_boxes, without_stamps
from pipeline.settings import Settings
from tests.inputs import read_through

SEALED, SEALED_GREY = scanned.scanned_pages(("sealed", "sealed-grey"), seed=11, lines=12)
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


def test_seals_over_names_are_found_and_their_ink_made_paper_while_the_text_under_them_stays() -> None:
    image = sealed_image()
    boxes = sorted(stamp_boxes(image, DPI), key=lambda b: b[2] - b[0])
    mm = [(right - left) * 25.4 / DPI for left, _, right, _ in boxes]
    assert len(boxes) == 2 and mm[0] < 15 and mm[1] > 18, mm  # the person's round seal, the company's square one
    through, count = without_stamps(image, DPI)
    assert count == 2 and through.mode == "RGB" and through.size == image.size
    plain = Image.new("L", image.size, 255)  # the same lines without the seals: what should stay dark in their boxes
    scanned.draw_lines(plain, SEALED.text.split("\n"), DPI)
    for box in boxes:
        rgb = np.asarray(image.crop(box), dtype=np.int16)
        ink = rgb.max(axis=2) - rgb.min(axis=2) >= 60  # the seal's own pixels, as scanned
        assert ink.sum() > 1000 and (np.asarray(through.convert("L").crop(box))[ink] >= 128).mean() > 0.95, box
        after, text_only = dark_pixels(through, box), dark_pixels(plain, box)  # the seal's ink is gone ...
        assert 0.8 * text_only <= after <= 1.3 * text_only, box  # ... and the text's strokes under it are not
    outside = (0, max(b[3] for b in boxes) + 50, image.width, image.height)
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


def test_a_form_printed_in_colour_keeps_its_grid_and_labels() -> None:
    """A form in dropout red, filled in in black: its grid is one patch over the black, the size of
    the form (not a stamp: its labels are words to search by)."""
    image = text_page(["", "", "東邦精機 御中 納品書", "", "ボルト 20 個", "", "ナット 40 個"])
    draw = ImageDraw.Draw(image)
    for y in range(150, 1000, 110):
        draw.line((150, y, 1900, y), fill=scanned.SEAL_INK, width=4)
    for x in (150, 800, 1300, 1900):
        draw.line((x, 150, x, 920), fill=scanned.SEAL_INK, width=4)
    draw.text((170, 160), "品名", font=scanned.mincho(40), fill=scanned.SEAL_INK)
    assert without_stamps(image, DPI) == (image, 0)


def test_grey_pages_without_stamps_photographs_panels_and_bilevel_pages_are_left_as_they_are() -> None:
    text = text_page(["請求書 Invoice No. 4711", "株式会社山田商事 御中 山田太郎"]).convert("L")
    assert without_stamps(text, DPI) == (text, 0)
    panel = text.copy()  # a mid-grey filled box with white text (the inverted pass's), over the lines
    ImageDraw.Draw(panel).rectangle((170, 170, 470, 470), fill=110)
    ImageDraw.Draw(panel).text((200, 260), "合計", font=scanned.mincho(80), fill=255)
    assert without_stamps(panel, DPI) == (panel, 0)
    noise = np.random.default_rng(5).integers(0, 256, (1200, 900, 3), dtype=np.uint8)  # colour all over
    photo = Image.fromarray(noise, "RGB")
    assert without_stamps(photo, DPI) == (photo, 0)
    portrait = Image.fromarray(noise[:, :, 0], "L").filter(ImageFilter.GaussianBlur(6))  # tones, not strokes
    assert without_stamps(portrait, DPI) == (portrait, 0)
    form = text.copy()  # an ID photograph (35 x 45 mm) on a form, beside its lines
    form.paste(portrait.resize((413, 531)), (1500, 160))
    assert without_stamps(form, DPI) == (form, 0)
    bilevel = sealed_image().convert("1")
    assert without_stamps(bilevel, DPI) == (bilevel, 0)


@pytest.mark.parametrize("points", [10.5, 20.0])
def test_grey_labels_between_black_lines_are_not_taken_for_a_stamp(points: float) -> None:
    """A form's captions printed in grey, each above its value in black: grey strokes as thick as
    a seal's, over and under black text, but each caption a patch too small to be a stamp."""
    for level in (90, 120, 150):
        form = Image.new("L", scanned.A4_PX[DPI], 255)
        draw, size = ImageDraw.Draw(form), scanned.font_px(DPI, points)
        for i, line in enumerate(["氏名", "山田太郎", "住所", "東京都港区", "電話", "0312345678"]):
            draw.text((180, 180 + round(i * size * 1.6)), line, font=scanned.mincho(size), fill=0 if i % 2 else level)
        assert without_stamps(form, DPI) == (form, 0), level


def test_seals_on_a_page_scanned_in_grey_are_read_through_by_their_mid_grey_strokes() -> None:
    """The colour scan's seal pixels tell where the seals are; in grey only their level and the
    width of their strokes do: both seals found, their ink made paper, the text under them kept."""
    image = sealed_image()
    grey = image.convert("L")
    boxes = sorted(grey_stamp_boxes(grey, DPI), key=lambda b: b[2] - b[0])
    mm = [(right - left) * 25.4 / DPI for left, _, right, _ in boxes]
    assert len(boxes) == 2 and mm[0] < 15 and mm[1] > 18, mm
    through, count = without_stamps(grey, DPI)
    assert count == 2 and through.mode == "L" and through.size == grey.size
    plain = Image.new("L", image.size, 255)
    scanned.draw_lines(plain, SEALED.text.split("\n"), DPI)
    for box in boxes:
        rgb = np.asarray(image.crop(box), dtype=np.int16)
        ink = rgb.max(axis=2) - rgb.min(axis=2) >= 60
        assert ink.sum() > 1000 and (np.asarray(through.crop(box))[ink] >= 128).mean() > 0.95, box
        after, text_only = dark_pixels(through, box), dark_pixels(plain, box)
        assert 0.7 * text_only <= after <= 1.3 * text_only, box
    outside = (0, max(b[3] for b in boxes) + 50, grey.width, grey.height)
    assert np.array_equal(np.asarray(through.crop(outside)), np.asarray(grey.crop(outside)))


@pytest.mark.parametrize("drop", [True, False])
def test_a_sealed_scan_in_a_pdf_is_read_through_in_grey_and_says_so(drop: bool) -> None:
    buf = io.BytesIO()
    sealed_image().save(buf, format="PDF", resolution=float(DPI))
    with OpenedDocument(buf.getvalue(), 120_000_000, 10, DPI, drop_stamps=drop) as doc:
        page = doc.page(1)
    assert page.image is not None and page.image.mode == "L" and page.dpi_source == "pdf-scan"
    assert ("stamp" in page.warning) is drop
    with OpenedDocument(SEALED.data, 120_000_000, 10, DPI, drop_stamps=drop) as doc:
        assert ("2 coloured stamps read through" in doc.page(1).warning) is drop
    buf = io.BytesIO()
    sealed_image().convert("L").save(buf, format="PDF", resolution=float(DPI))  # scanned in grey
    with OpenedDocument(buf.getvalue(), 120_000_000, 10, DPI, drop_stamps=drop) as doc:
        assert ("2 stamps read through (mid-grey seal ink made paper)" in doc.page(1).warning) is drop
    with OpenedDocument(SEALED_GREY.data, 120_000_000, 10, DPI, drop_stamps=drop) as doc:
        assert ("2 stamps read through (mid-grey" in doc.page(1).warning) is drop


@pytest.mark.tesseract
def test_the_name_under_a_seal_is_found_only_when_its_ink_is_read_through(stage: OcrStage) -> None:
    """The cause, both ways: with the seal's ink left (``drop_stamps`` off) it reads as a blot over
    the party's line and the name is lost; read through, every word is found."""
    through = read_through(stage, SEALED.key, SEALED.data)
    kept = read_through(OcrStage(Settings(drop_stamps=False)), SEALED.key, SEALED.data)
    squashed, blotted = "".join(through.text.split()), "".join(kept.text.split())
    assert all(word in squashed for word in SEALED.words), through.text
    assert character_error_rate(SEALED.text, through.text) <= scanned.cer_bound("sealed")
    lost = [word for word in SEALED.words[1:] if word not in blotted]  # the company's and the person's names
    assert lost or character_error_rate(SEALED.text, kept.text) > scanned.cer_bound("sealed"), kept.text


@pytest.mark.tesseract
def test_the_name_under_a_seal_scanned_in_grey_is_found_when_its_ink_is_read_through(stage: OcrStage) -> None:
    through = read_through(stage, SEALED_GREY.key, SEALED_GREY.data)
    kept = read_through(OcrStage(Settings(drop_stamps=False)), SEALED_GREY.key, SEALED_GREY.data)
    assert all(word in "".join(through.text.split()) for word in SEALED_GREY.words), through.text
    assert character_error_rate(SEALED_GREY.text, through.text) <= scanned.cer_bound("sealed-grey")
    blotted = "".join(kept.text.split())
    lost = [word for word in SEALED_GREY.words[1:] if word not in blotted]
    assert lost or character_error_rate(SEALED_GREY.text, kept.text) > scanned.cer_bound("sealed-grey"), kept.text


def test_the_sealed_kind_draws_its_seals_over_the_names() -> None:
    """The generator's own check, on pages of other seeds: each seal's box holds a name's strokes
    on the party's line (the line under both seals)."""
    for seed in (3, 4, 5):
        page = scanned.make_page("sealed", 12345, random.Random(seed), 12, "x/")
        image = Image.open(io.BytesIO(page.data)).convert("RGB")
        party = Image.new("L", image.size, 255)
        scanned.draw_lines(party, ["", page.text.split("\n")[1]], DPI)
        boxes = stamp_boxes(image, DPI)
        assert len(boxes) == 2 and all(dark_pixels(party, box) > 300 for box in boxes), (seed, boxes)


def test_readings_made_when_only_colour_stamps_were_read_through_are_not_reused(monkeypatch) -> None:
    from pipeline.engine import stage

    args = ("tesseract 5.5.4", "jpn (jpn:1)", "jpn_vert:3")
    now = stage.reading_stamp(Settings(), *args)
    monkeypatch.setattr(stage, "STAMPS_READ_THROUGH", "colour")
    assert stage.reading_stamp(Settings(), *args) != now
    kept = stage.reading_stamp(Settings(drop_stamps=False), *args)
    monkeypatch.setattr(stage, "STAMPS_READ_THROUGH", "colour+grey")
    assert stage.reading_stamp(Settings(drop_stamps=False), *args) == kept, "stamps kept: nothing read again"
