"""Page geometry without the engine: the resolution a page is given, and its skew."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks import scanned
from pipeline.engine.documents import OpenedDocument, at_most, from_paper_size, image_resolution, square_pixels
from pipeline.engine.geometry import Reductions, estimate_skew, profile_sharpness, straighten, turn


def opened_page(data: bytes):
    with OpenedDocument(data, 120_000_000, 100, 300) as doc:
        return doc.page(1)


def test_a_credible_dpi_in_the_file_is_used() -> None:
    page = Image.new("L", (1654, 2339), 255)
    got = opened_page(scanned.png(page, 200))
    assert (got.dpi, got.dpi_source) == (200, "metadata")


@pytest.mark.parametrize(("size", "dpi"), [((2480, 3508), 300), ((1654, 2339), 200), ((2550, 3300), 300),
                                           ((3508, 2480), 300), ((1748, 2480), 300), ((4960, 7016), 600)])
def test_a_page_without_dpi_is_measured_by_its_paper_size(size, dpi) -> None:
    got = opened_page(scanned.png(Image.new("L", size, 255), None))
    assert (got.dpi, got.dpi_source) == (dpi, "paper-size")


def test_a_camera_dpi_on_a_full_page_is_not_believed() -> None:
    got = opened_page(scanned.png(Image.new("L", (2480, 3508), 255), 72))
    assert (got.dpi, got.dpi_source) == (300, "paper-size")


def test_a_screen_dpi_on_a_small_image_is_believed() -> None:
    assert image_resolution(_with_dpi(Image.new("L", (1200, 800), 255), 96)).dpi == 96


def test_an_odd_shape_without_dpi_is_assumed_300() -> None:
    got = image_resolution(Image.new("L", (600, 120), 255))
    assert (got.dpi, got.source) == (300, "assumed")
    assert from_paper_size(600, 120) is None


def test_a_standard_mode_fax_gets_square_pixels() -> None:
    fax = _with_dpi(Image.new("1", (1728, 1143), 1), (204, 98))
    square, warning = square_pixels(fax)
    assert square.size == (1728, round(1143 * 204 / 98)) and "204 x 98" in warning
    assert image_resolution(square).dpi == 204


def test_a_finer_scan_is_reduced_to_the_read_resolution_and_a_near_one_is_not() -> None:
    page = Image.new("L", (4960, 7016), 255)
    reduced, dpi = at_most(page, 600, 300)
    assert (reduced.size, dpi) == ((2480, 3508), 300)
    assert at_most(page, 360, 300) == (page, 360), "within 1.25x: the same page, resampling would only blur"
    assert at_most(page, 600, 0) == (page, 600), "0: never"


def test_a_coarse_scan_is_enlarged_to_the_read_resolution_unless_near_it_or_huge() -> None:
    from pipeline.engine.documents import ENLARGE_MAX_PIXELS, at_least

    fax = Image.new("1", (1728, 2200), 1)  # 200 x 200 DPI, bilevel
    enlarged, dpi = at_least(fax, 200, 300)
    assert (enlarged.mode, enlarged.size, dpi) == ("L", (2592, 3300), 300), "interpolated in grey"
    assert at_least(fax, 250, 300) == (fax, 250), "within 1.25x: read as it is"
    assert at_least(fax, 200, 0) == (fax, 200), "0: never"
    drawing = Image.new("L", (4000, 6000), 255)  # a 40 x 60 in drawing at 100 DPI: 216 Mpx at 300
    assert ENLARGE_MAX_PIXELS < 4000 * 6000 * 9 and at_least(drawing, 100, 300) == (drawing, 100)


def test_a_pdf_render_is_read_at_the_resolution_it_was_rendered_at() -> None:
    """``OCR_DPI`` chooses a render's resolution (an operator's 200 is not enlarged again); a scan
    at 200 DPI is."""
    from pipeline.engine.documents import at_read_resolution

    page = Image.new("L", (1654, 2339), 255)
    assert at_read_resolution(page, 200, "pdf-render", 400, 300) == (page, 200)
    assert at_read_resolution(page, 200, "pdf-scan", 400, 300)[1] == 300


def test_a_bilevel_fine_scan_is_reduced_in_grey_and_keeps_its_thin_strokes() -> None:
    """Pillow resizes mode "1" by nearest neighbour: a stroke a pixel wide on the rows it skips
    would vanish (at 600 -> 400 DPI, every third row is never sampled)."""
    page = Image.new("1", (300, 300), 1)
    for y in range(1, 300, 3):
        page.paste(0, (0, y, 300, y + 1))
    reduced, dpi = at_most(page, 600, 400)
    assert (reduced.mode, reduced.size, dpi) == ("L", (200, 200), 400)
    assert np.asarray(reduced).mean() < 230, "the strokes' ink is kept (as grey)"


def test_pdf_pages_carry_their_render_or_scan_dpi() -> None:
    rendered = opened_page(scanned.pdf_scan(Image.new("L", (1240, 1754), 255), 150))
    assert (rendered.dpi, rendered.dpi_source) == (300, "pdf-render")  # a 150-DPI scan is rendered at OCR_DPI
    native = opened_page(scanned.pdf_scan(Image.new("L", (2480, 3508), 255), 300))
    assert (native.dpi, native.dpi_source) == (300, "pdf-scan")


@pytest.mark.parametrize("kind", ["upright-300", "vertical"])
@pytest.mark.parametrize("angle", [-17.0, -10.0, -6.0, -2.5, 1.5, 3.7, 7.7, 12.0, 15.0, 19.0])
def test_the_skew_is_found_within_a_fifth_of_a_degree(kind: str, angle: float) -> None:
    page = _decoded(scanned.scanned_pages((kind,), lines=12)[0].data)
    skewed = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert abs(estimate_skew(skewed, 300) - angle) <= 0.2


def test_a_square_page_and_a_blank_page_have_no_skew() -> None:
    page = _decoded(scanned.scanned_pages(("upright-300",), lines=12)[0].data)
    assert abs(estimate_skew(page, 300)) < 0.5
    assert estimate_skew(Image.new("L", (2480, 3508), 255), 300) == 0.0


def test_straighten_and_turn_undo_what_the_scanner_did() -> None:
    page = _decoded(scanned.scanned_pages(("upright-300",), lines=12)[0].data)
    assert abs(estimate_skew(straighten(page.rotate(5, expand=True, fillcolor=255), 5.0), 300)) < 0.3
    turned = page.rotate(90, expand=True)
    assert turn(turned, 270).tobytes() == page.tobytes()


def test_each_angles_profile_is_scored_on_its_own_bins() -> None:
    """Rows 0, 0, 1, 3 make the profile 2, 1, 0, 1: steps -1, -1, +1, sharpness 3 (no edge counted
    past its ends), the same when a longer profile (the points sheared by 45 degrees) is scored
    in the same pass."""
    ys, xs = np.array([0, 0, 1, 3], np.float32), np.array([0, 4, 0, 0], np.float32)
    assert profile_sharpness(ys, xs, np.array([0.0]), True).tolist() == [3.0]
    both = profile_sharpness(ys, xs, np.array([0.0, -45.0]), True)  # rows 0, 4, 1, 3: profile 1,1,0,1,1
    assert both.tolist() == [3.0, 2.0]


def test_the_skew_is_measured_on_the_reductions_it_is_given_and_only_its_own_pages() -> None:
    page = _decoded(scanned.scanned_pages(("upright-300",), lines=12)[0].data)
    skewed = page.rotate(6.0, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    shared = Reductions(skewed, 300)
    assert abs(estimate_skew(skewed, 300, reductions=shared) - 6.0) <= 0.2
    assert shared.made == (75.0, 150.0)  # swept at 75 DPI, measured again at 150
    other = Reductions(page, 300)
    assert abs(estimate_skew(skewed, 300, reductions=other) - 6.0) <= 0.2, "another page's are not used"
    assert other.made == ()


@pytest.mark.parametrize("angle", [4.0, -7.0])
def test_a_skewed_page_on_a_black_platen_is_measured_by_its_text_not_the_black(angle: float) -> None:
    """A flatbed with its lid open (or a scanner's black backing): the page lies skewed on black
    whose edges run with the paper. It swung the estimate to -9.7 degrees for a page at 4."""
    from PIL import ImageOps

    page = _decoded(scanned.scanned_pages(("upright-300",), lines=12)[0].data)
    skewed = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert abs(estimate_skew(ImageOps.expand(skewed, 150, fill=15), 300) - angle) <= 0.3


def test_strokes_keep_lines_and_letters_and_lose_solid_ground() -> None:
    from pipeline.engine.geometry import covered, eroded, strokes

    block, line = np.zeros((8, 10), bool), np.zeros((8, 10), bool)
    block[1:5, 2:7] = True  # 4 x 5: squares of 3 fit 2 x 3 ways, and cover all of it
    line[6, :] = True  # a line one pixel thick: none
    mask = block | line
    assert eroded(mask, 3).sum() == 6 and eroded(mask, 3)[1, 2] and eroded(mask, 5).sum() == 0
    assert np.array_equal(covered(eroded(mask, 3), 3, mask.shape), block)
    assert np.array_equal(strokes(mask, 3 * 25.4 / 1.7), line)  # squares of 3 pixels at this DPI


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("L")


def _with_dpi(image: Image.Image, dpi) -> Image.Image:
    image.info["dpi"] = dpi if isinstance(dpi, tuple) else (dpi, dpi)
    return image
