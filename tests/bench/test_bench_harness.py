"""The harness's pure parts: the generated corpus, percentiles, the breakdown and the table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.cli import add_arguments, config_from
from benchmarks.corpus import expected_pages, generate
from benchmarks.quality import search_query, summarise_quality

SAMPLE = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "sample" / "summary.json"


def test_the_corpus_has_exactly_the_pages_asked_for_and_unique_numbers() -> None:
    for pages in (1, 6, 13):
        docs = generate(pages, quick=True)
        assert sum(d.page_count for d in docs) == pages
    docs = generate(13, quick=True)
    numbers = [d.query.en[-1] for d in docs]
    assert len(set(numbers)) == len(numbers)
    assert {d.kind for d in docs} >= {"invoice", "form", "contract-pdf", "degraded-noise"}
    assert len(expected_pages(docs)) == 13


def test_each_query_word_is_in_the_known_text() -> None:
    for doc in generate(12, quick=True):
        text = "\n".join(doc.pages)
        assert doc.query.ja in text and all(w in text for w in doc.query.en)
        query = search_query(doc)["bool"]["must"]
        assert query[0] == {"match": {"text.ja": {"query": doc.query.ja, "operator": "and"}}}


def test_clean_only_has_no_degraded_scans() -> None:
    assert all(d.clean for d in generate(12, quick=True, degraded=False))


def test_percentiles_and_ratio() -> None:
    assert report.percentiles([1.0, 2.0, 3.0, 4.0]) == {"p50": 2.5, "p95": 3.85, "p99": 3.97}
    assert report.percentiles([]) == {"p50": None, "p95": None, "p99": None}
    assert report.ratio(1.0, 0.0) is None and report.ratio(1.0, 4.0) == 0.25


def test_wait_index_is_what_is_left_of_receive_to_indexed() -> None:
    record = {"received_at": 10.0, "indexed_at": 14.0, "fetch_s": 0.5, "process_s": 2.5, "pages": 2}
    assert report.wait_index(record) == 1.0
    assert report.wait_index(record | {"process_s": 9.0}) == 0.0


def test_quality_summary_separates_clean_and_degraded_pages() -> None:
    docs = generate(12, quick=True)
    cer = {(d.key, n): (0.0 if d.clean else 0.1) for d in docs for n in range(1, d.page_count + 1)}
    hits = {d.key: d.clean for d in docs}
    q = summarise_quality(docs, cer, hits)
    assert q["cer_clean"] == 0.0 and q["cer_degraded"] == 0.1
    assert q["findability_clean"] == 1.0 and q["documents"] == len(docs)
    assert q["not_found"] == sorted(d.key for d in docs if not d.clean)


def test_the_table_shows_every_mode_and_the_batch_hook() -> None:
    summary = json.loads(SAMPLE.read_text())
    text = report.table(summary)
    for word in ("limit", "stream", "paced", "baseline", "findability"):
        assert word in text
    assert "batch" in text


def test_quick_defaults_and_core_sweep() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cfg = config_from(parser.parse_args(["--quick", "--cores", "1,2,4"]))
    assert (cfg.pages, cfg.cores, cfg.baseline_pages, cfg.paced_docs) == (6, [1, 2, 4], 1, 2)
    cfg = config_from(parser.parse_args([]))
    assert (cfg.pages, cfg.baseline_pages, cfg.paced_docs) == (40, 3, 8)


def test_ocr_cluster_bench_is_registered() -> None:
    from pipeline.cli import build_parser

    args = build_parser().parse_args(["bench", "--quick", "--pages", "3"])
    assert args.pages == 3 and args.quick


def test_the_cli_still_works_without_the_benchmarks_package(monkeypatch, capsys) -> None:
    import sys

    from pipeline.cli import build_parser, main

    monkeypatch.setitem(sys.modules, "benchmarks.cli", None)  # as if the install did not carry it
    assert build_parser().parse_args(["validate", "--offline"]).offline
    assert main(["bench"]) == 2
    assert "not importable" in capsys.readouterr().err


@pytest.mark.tesseract
def test_the_engine_input_comparison_reads_both_ways_on_real_pages() -> None:
    from benchmarks.engine_input import compare_inputs, compare_rasters

    rows = compare_inputs(2)
    assert set(rows) == {"SetImage (PNG round trip)", "raw pixels (SetImageBytes)"}
    assert all(r["engine_s"] > 0 and r["cer_clean"] <= 0.1 for r in rows.values()), rows
    assert set(compare_rasters(6)) == {"grey", "colour -> grey", "embedded scan"}


def test_the_limit_with_decode_adds_each_process_share_of_the_decoding() -> None:
    got = report.with_decode(6.0, 2, [0.04, 0.06])  # two processes' mean decode seconds a page
    assert got == {"decode_s_per_page": 0.05, "pages_s_with_decode": round(1 / (1 / 6 + 0.05 / 2), 4)}
    assert report.with_decode(6.0, 2, []) == {}


def test_the_isolated_run_finds_its_child_processes_and_pins_every_thread() -> None:
    import os
    import subprocess
    import sys
    import time

    from benchmarks.isolated import descendants, pin

    child = subprocess.Popen([sys.executable, "-c", "import threading, time; threading.Thread("
                              "target=time.sleep, args=(30,), daemon=True).start(); time.sleep(30)"])
    try:
        deadline = time.monotonic() + 5
        while len(os.listdir(f"/proc/{child.pid}/task")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # until its second thread runs
        assert child.pid in descendants(os.getpid())
        first = min(os.sched_getaffinity(0))
        pin(child.pid, {first})
        assert all(os.sched_getaffinity(int(tid)) == {first} for tid in os.listdir(f"/proc/{child.pid}/task"))
    finally:
        child.kill()
        child.wait()
