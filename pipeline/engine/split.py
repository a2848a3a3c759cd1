"""Long documents, for both runtimes: read whole, or cut into page ranges that whichever worker is
free reads, and put together from the ranges in whatever order they come back.

    OcrStage.read_or_defer(job, fetched, split_pages) -> the Document (reused or read whole), or
                                          the LongDocument (opened and counted) to spread
    page_ranges(page_count, split_pages) -> [(1, 8), (9, 16), ...]
    OpenRun(stage).opened(key, load)     -> the document its ranges come from, opened once a run
    read_range(stage, opened, first, last) -> [PageResult, ...]
    Parts(LongDocument).add / .fail      -> the Document, or the Failure, once every range is in

One setting, ``OCR_SPLIT_PAGES``, decides both: a document of more pages than that is read that
many pages a task. The runtimes only move the work: the stream puts a split document's bytes in
Ray's object store once and hands its ranges to its pool (:mod:`pipeline.stream.workers`); the
backfill defers it from its first pass and reads its ranges in a second, each range actor
fetching the object itself (:mod:`pipeline.batch.long`), which is why ranges read from two
versions of an object (ETags differ) fail the document as ``ObjectChanged`` instead of mixing them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from pipeline.engine.documents import OpenedDocument
from pipeline.engine.stage import LongDocument, OcrStage, assemble_document, decode_page
from pipeline.errors import ObjectChanged
from pipeline.models import Document, Failure, PageResult

Held = TypeVar("Held")


def page_ranges(page_count: int, split_pages: int) -> list[tuple[int, int]]:
    """The ranges ``(first, last)`` (1-based, inclusive) of ``split_pages`` pages covering the document."""
    per_range = split_pages if split_pages > 0 else max(1, page_count)
    return [(first, min(page_count, first + per_range - 1)) for first in range(1, page_count + 1, per_range)]


def read_range(stage: OcrStage, opened: OpenedDocument, first: int, last: int) -> list[PageResult]:
    """OCR pages ``first..last`` of an opened document, one page in memory at a time."""
    return [stage.recognise(*decode_page(opened, number)) for number in range(first, last + 1)]


class OpenRun(Generic[Held]):
    """The one long document a worker's ranges come from, fetched and opened once while its
    ranges keep coming (ranges of one document often arrive in a run), closed when another's come."""

    def __init__(self, stage: OcrStage) -> None:
        self.stage = stage
        self._key: Hashable | None = None
        self._held: Held | None = None
        self._doc: OpenedDocument | None = None

    def opened(self, key: Hashable, load: Callable[[], tuple[Held, bytes]]) -> tuple[Held, OpenedDocument]:
        """The document ``key`` names, opened; ``load``: what holds its bytes, and the bytes (called
        only when another document, or none, is open)."""
        if key != self._key or self._doc is None:
            self.close()
            held, data = load()
            self._doc, self._held, self._key = self.stage.open(data), held, key
        return self._held, self._doc  # type: ignore[return-value]

    def close(self) -> None:
        """Close the open document, if any (after a failed range, or before a whole job)."""
        if self._doc is not None:
            self._doc.close()
        self._key, self._held, self._doc = None, None, None


@dataclass
class _Failed:
    first: int
    last: int
    failure: Failure


@dataclass
class Parts:
    """A long document's ranges as they come back, in any order, until every page is in."""

    doc: LongDocument
    pages: dict[int, PageResult] = field(default_factory=dict)
    failed: list[_Failed] = field(default_factory=list)
    etags: set[str] = field(default_factory=set)
    seconds: float = 0.0  # the ranges' own seconds (their sum: what the document cost)
    covered: int = 0  # pages of the ranges that came back, read or failed

    def add(self, pages: list[PageResult], seconds: float = 0.0, etag: str = "") -> None:
        """A range read: its pages, what it took, and the ETag of the bytes it read (if its own)."""
        for page in pages:
            self.pages[page.page] = page
        self.covered += len(pages)
        self.seconds += seconds
        if etag:
            self.etags.add(etag)

    def fail(self, first: int, last: int, failure: Failure) -> None:
        """A range that failed, and why."""
        self.failed.append(_Failed(first, last, failure))
        self.covered += last - first + 1

    @property
    def complete(self) -> bool:
        """Every range is back."""
        return self.covered >= self.doc.page_count

    def failure(self) -> Failure | None:
        """Why the document cannot be indexed: its first failed range, or ranges of two versions."""
        if self.failed:
            bad = min(self.failed, key=lambda f: f.first)
            return replace(bad.failure, reason=f"pages {bad.first}-{bad.last}: {bad.failure.reason}")
        if len(self.etags) > 1:
            changed = ObjectChanged("the object changed while its pages were being read (ETags differ); run it again")
            return Failure.of_error(self.doc.job, changed)
        return None

    def document(self, seconds: float | None = None) -> Document:
        """The document, its pages in order (``seconds``: what it took, by default the ranges' sum)."""
        d = self.doc
        return assemble_document(d.job, d.fetched, d.content_type, list(self.pages.values()),
                                 self.seconds if seconds is None else seconds, d.engine_stamp)
