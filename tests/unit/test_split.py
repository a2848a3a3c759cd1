"""The stage's split of a long document (plain data): whole or split, and its page ranges. How
ranges are put back together is in tests/unit/test_batch_long.py (through the backfill's
assembler); the stream's and the backfill's whole paths in tests/integration."""

from __future__ import annotations

from pipeline.engine.documents import is_long
from pipeline.engine.split import page_ranges


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
