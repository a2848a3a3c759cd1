"""A backfill's long documents: how they are cut into page ranges and put back together
(plain data, no servers; the whole path runs in tests/integration/test_batch.py)."""

from __future__ import annotations

import pickle

from pipeline.batch.long import Assembler, range_rows
from pipeline.models import PageResult

JOB = {"tag": "", "bucket": "b", "key": "long.pdf", "version_id": "", "etag": "", "size": -1}


def _range(first: int, last: int, total: int, etag: str = '"e1"', error: str = "") -> dict:
    pages = [PageResult(n, f"page {n}", 90.0, "ocr") for n in range(first, last + 1)]
    return {**JOB, "pages_total": total, "first": first, "last": last, "etag": etag, "size": 1000,
            "content_type": "application/pdf", "pages": None if error else pickle.dumps(pages),
            "error_class": error, "reason": "the page cannot be decoded" if error else "", "retryable": False,
            "stamp": pickle.dumps(("tesseract 5.3.0", "jpn+eng")), "seconds": 1.0, "worker_rss_mb": 300.0}


def test_a_long_document_is_cut_into_ranges_of_the_split_size() -> None:
    rows = range_rows([{**JOB, "deferred_pages": 20}, {**JOB, "key": "b.pdf", "deferred_pages": 8}], 8)
    assert [(r["key"], r["first"], r["last"]) for r in rows] == [
        ("long.pdf", 1, 8), ("long.pdf", 9, 16), ("long.pdf", 17, 20), ("b.pdf", 1, 8)]


def test_ranges_arriving_in_any_order_make_one_document_in_page_order() -> None:
    assembler = Assembler()
    assert assembler.add(_range(9, 16, 20)) is None
    assert assembler.add(_range(17, 20, 20)) is None
    row = assembler.add(_range(1, 8, 20))
    assert row is not None and row["ok"] and row["pages"] == 20
    doc = pickle.loads(row["document"])
    assert [p.page for p in doc.pages] == list(range(1, 21))
    assert doc.text.index("page 1") < doc.text.index("page 9") < doc.text.index("page 20")
    assert doc.etag == '"e1"' and doc.engine == "tesseract 5.3.0"
    assert assembler.partial == {}


def test_a_failed_range_fails_the_document_naming_its_pages() -> None:
    assembler = Assembler()
    assembler.add(_range(1, 8, 12))
    row = assembler.add(_range(9, 12, 12, error="CorruptDocument"))
    assert row is not None and not row["ok"] and row["document"] is None
    assert row["error_class"] == "CorruptDocument"
    assert row["reason"] == "pages 9-12: the page cannot be decoded"


def test_pages_read_from_two_versions_of_the_object_are_not_mixed() -> None:
    assembler = Assembler()
    assembler.add(_range(1, 8, 12, etag='"e1"'))
    row = assembler.add(_range(9, 12, 12, etag='"e2"'))
    assert row is not None and not row["ok"]
    assert row["error_class"] == "ObjectChanged" and row["retryable"]
