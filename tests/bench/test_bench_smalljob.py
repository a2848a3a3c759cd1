"""The small-job comparison's parts: its pages, their CER, and OCRmyPDF's absence (no servers, no Ray)."""

from __future__ import annotations

from PIL import Image

from benchmarks.smalljob import make_pages, mean_cer, ocrmypdf_installed


def test_the_pages_are_a4_files_at_300_dpi_each_with_its_own_known_text(tmp_path) -> None:
    texts = make_pages(tmp_path / "pages", 2, lines=6)
    assert sorted(texts) == ["page-000.png", "page-001.png"]
    with Image.open(tmp_path / "pages" / "page-000.png") as image:
        assert image.size == (2480, 3508) and round(image.info["dpi"][0]) == 300
    assert texts["page-000.png"] != texts["page-001.png"] and "Contract No." in texts["page-000.png"]


def test_a_page_read_exactly_is_0_and_a_page_not_read_counts_1() -> None:
    texts = {"a.png": "請求書 No. 1", "b.png": "Invoice 2"}
    assert mean_cer(texts, dict(texts)) == 0.0
    assert mean_cer(texts, {"a.png": texts["a.png"]}) == 0.5


def test_ocrmypdf_is_found_only_in_its_own_environment(tmp_path) -> None:
    assert not ocrmypdf_installed(tmp_path)
    for name in ("ocrmypdf", "img2pdf"):
        (tmp_path / name).write_text("#!/bin/sh\n")
    assert ocrmypdf_installed(tmp_path)
