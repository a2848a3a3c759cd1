"""The real engine (Tesseract, the default languages) on generated pages with known text."""

from __future__ import annotations

import pytest

from pipeline import errors
from pipeline.devstack.samples import render_page, sample_documents
from pipeline.engine.ocr import Engine, get_engine, reading_variables
from pipeline.engine.quality import character_error_rate
from pipeline.engine.stage import OcrStage
from pipeline.models import FetchedObject, Job
from pipeline.settings import DEBIAN_TESSDATA, Settings

pytestmark = pytest.mark.tesseract


def fetched(data: bytes) -> FetchedObject:
    return FetchedObject(data, len(data), "etag", "", 0.0)


@pytest.mark.parametrize("sample", [s for s in sample_documents() if not s.corrupt], ids=lambda s: s.key[-24:])
def test_known_text_is_found(stage: OcrStage, sample) -> None:
    doc = stage.process_fetched(Job("b", sample.key), fetched(sample.data))
    assert character_error_rate("\n".join(sample.expected), doc.text) <= 0.05, doc.text
    assert doc.page_count == len({p.page for p in doc.pages}) >= 1
    assert doc.engine.startswith("tesseract ") and "jpn" in doc.languages


def test_the_engine_is_warm_and_shared(stage: OcrStage) -> None:
    assert get_engine("jpn", DEBIAN_TESSDATA, "pipeline.engine.ocr:Engine", latin="eng") is stage.engine


def test_yen_and_cjk_spacing_are_cleaned(stage: OcrStage) -> None:
    page = render_page(["合計金額 ¥128,400"])
    text = stage.recognise(stage.open(encode_png(page)).page(1)).text
    assert "¥128,400" in text and "合計金額" in text


def encode_png(image) -> bytes:
    from pipeline.devstack.samples import encode

    return encode(image, "PNG")


def test_engine_timeout_is_its_own_error_class() -> None:
    engine = Engine("jpn+eng", DEBIAN_TESSDATA)
    page = render_page(["長い文章 " * 8] * 30, width=2400)
    with pytest.raises(errors.EngineTimeout) as err:
        engine.recognise(page, timeout_s=0.001)
    assert "gave up" in err.value.reason
    # the engine is still usable after a time-out
    assert "123" in engine.recognise(render_page(["123"]), timeout_s=30).text
    engine.close()


@pytest.mark.parametrize("invert", [False, True])
def test_the_inverted_line_pass_is_set_as_the_setting_says(invert: bool) -> None:
    """Given at Init (every loaded language gets it), as OCR_INVERT_PASS says; off by default."""
    stage = OcrStage(Settings(invert_pass=invert, vertical_language="", detect_orientation=False))
    assert stage.engine._api.GetBoolVariable("tessedit_do_invert") is invert
    assert Settings().invert_pass is False



@pytest.mark.parametrize(("dictionary", "certainty"), [(True, -2.5), (False, -7.0)])
def test_the_word_lists_and_the_retry_certainty_reach_the_reading_languages(dictionary: bool, certainty: float) -> None:
    """Given at Init as OCR_LSTM_DICTIONARY / OCR_RETRY_CERTAINTY say (so every reading language
    gets them: ``SetVariable`` would reach only the first); the vertical reader keeps Tesseract's."""
    stage = OcrStage(Settings(lstm_dictionary=dictionary, retry_certainty=certainty, detect_orientation=False))
    api, vertical = stage.engine._api, stage.engine._vertical()
    assert api.GetBoolVariable("lstm_use_matrix") is dictionary
    assert api.GetDoubleVariable("stopper_nondict_certainty_base") == certainty
    assert vertical.GetBoolVariable("lstm_use_matrix") is True
    assert vertical.GetDoubleVariable("stopper_nondict_certainty_base") == -2.5
    assert "stopper_nondict_certainty_base" in reading_variables(False)

def test_missing_language_data_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError) as err:
        Engine("jpn+klingon", DEBIAN_TESSDATA)
    assert "klingon" in err.value.reason and err.value.exit_code == 2


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "1", "P"])
def test_every_pixel_mode_reaches_the_engine_as_the_same_page(stage: OcrStage, mode: str) -> None:
    lines = ["請求書 No. 2048", "合計金額 ¥128,400"]
    page = render_page(lines).convert(mode)
    text = stage.engine.recognise(page, timeout_s=30).text
    assert character_error_rate("\n".join(lines), text) <= 0.1, (mode, text)


def test_a_150_dpi_scan_is_read_at_300_dpi_and_reads_better_for_it() -> None:
    """``OCR_MIN_READ_DPI`` (300 by default): a coarse scan enlarged (Lanczos) reads at a fraction
    of the CER it reads at as scanned (measured 0.3-0.7% against 2.5-4.1%)."""
    import random

    from PIL import Image

    from benchmarks.scanned import draw_lines, horizontal_lines
    from pipeline.engine.quality import character_error_rate
    from pipeline.models import PageInput
    from pipeline.settings import Settings

    lines = horizontal_lines(random.Random(2), 7002, "東邦精機", "渡辺浩二", 24)
    page = Image.new("L", (1240, 1754), 255)  # A4 at 150 DPI
    draw_lines(page, lines, 150)
    cer = {}
    for floor in (300, 0):
        result = OcrStage(Settings(min_read_dpi=floor)).recognise(PageInput(1, image=page.copy(), dpi=150,
                                                                             dpi_source="metadata"))
        cer[floor] = character_error_rate("\n".join(lines), result.text)
        assert result.dpi == (floor or 150)
    assert cer[300] < 0.015 and cer[300] < cer[0] / 2, cer


def test_a_600_dpi_scan_is_read_at_400_dpi_and_keeps_its_words(stage: OcrStage) -> None:
    """``OCR_MAX_READ_DPI`` (400 by default): the pixels past it buy no text, only engine time."""
    from PIL import Image

    from benchmarks.scanned import draw_lines
    from pipeline.models import PageInput

    page = Image.new("L", (4200, 500), 255)
    draw_lines(page, ["契約番号 40812 株式会社富士見建設"], 600)
    result = stage.recognise(PageInput(1, image=page, dpi=600, dpi_source="metadata"))
    assert result.dpi == 400 and (result.width, result.height) == (2800, 333)
    assert "40812" in result.text and "富士見建設" in result.text, result.text
