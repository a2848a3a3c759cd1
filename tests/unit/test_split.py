"""The stage's split of a long document: whole or split (``read_or_defer``), its page ranges, a
run of ranges opening its document once (``OpenRun``). How
ranges are put back together is in tests/unit/test_batch_long.py (through the backfill's
assembler); the stream's and the backfill's whole paths in tests/integration."""

from __future__ import annotations

import hashlib

from pipeline.engine.documents import is_long
from pipeline.engine.split import OpenRun, page_ranges
from pipeline.engine.stage import LongDocument, OcrStage
from pipeline.models import Document, FetchedObject, Job
from pipeline.settings import Settings
from tests import inputs


def test_only_a_document_of_more_pages_than_the_split_is_split() -> None:
    assert not is_long(8, 8) and is_long(9, 8)
    assert not is_long(500, 0), "0: always read whole"


def test_the_ranges_cover_every_page_once_in_order() -> None:
    assert page_ranges(20, 8) == [(1, 8), (9, 16), (17, 20)]
    assert page_ranges(3, 1) == [(1, 1), (2, 2), (3, 3)]
    assert page_ranges(5, 0) == [(1, 5)]
    for count in range(1, 40):
        pages = [n for first, last in page_ranges(count, 7) for n in range(first, last + 1)]
        assert pages == list(range(1, count + 1))


def _fetched(data: bytes) -> FetchedObject:
    return FetchedObject(data, len(data), "etag-1", "v1", 0.0, hashlib.sha256(data).hexdigest())


class _Lookups:
    """Where the stage looks for earlier readings: finds none, counts the looks."""

    def __init__(self) -> None:
        self.looks = 0

    def find(self, sha256: str, reading: str, exclude_doc_id: str) -> None:
        self.looks += 1


def test_a_long_document_is_only_opened_and_counted_a_short_one_read_whole() -> None:
    lookups = _Lookups()
    stage = OcrStage(Settings(), prior=lookups)
    job = Job("b", "scans/long.pdf", "v1")
    long_doc = stage.read_or_defer(job, _fetched(inputs.many_pages_pdf(9)), split_pages=8)
    assert isinstance(long_doc, LongDocument)
    assert (long_doc.page_count, long_doc.content_type, long_doc.fetched.data) == (9, "application/pdf", b"")
    whole = stage.read_or_defer(job, _fetched(inputs.many_pages_pdf(3)), split_pages=8)
    assert isinstance(whole, Document) and [p.page for p in whole.pages] == [1, 2, 3]
    assert lookups.looks == 2, "each object was looked up before it was read"
    stage.read_or_defer(job, _fetched(inputs.many_pages_pdf(2)), split_pages=8, look_up=False)
    assert lookups.looks == 2, "look_up=False: the runtime looked already"


def test_a_run_of_ranges_opens_its_document_once() -> None:
    stage = OcrStage(Settings())
    loads: list[str] = []

    def load(name: str, pages: int):
        return lambda: (loads.append(name) or name, inputs.many_pages_pdf(pages))

    run: OpenRun[str] = OpenRun(stage)
    assert run.opened("a", load("a", 4))[1].page_count == 4
    held, opened = run.opened("a", load("a", 4))
    assert (held, opened.page_count, loads) == ("a", 4, ["a"]), "the second range of a: not loaded again"
    assert run.opened("b", load("b", 6))[1].page_count == 6 and loads == ["a", "b"]
    run.close()
    run.opened("b", load("b", 6))
    assert loads == ["a", "b", "b"], "closed (after a failed range): loaded again"
    run.close()
