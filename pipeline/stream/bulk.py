"""The stream's bulk buffer: documents read and waiting for the bulk writer, each with the jobs
that wait on it (one document can answer two messages naming the same object version).

It is flushed when it holds a full request (``bulk_max_docs`` documents, or ``bulk_max_bytes``
of text: the writer cuts requests by their real size, this only decides when one is worth
sending), when its oldest document has waited ``bulk_max_delay_s``, or when nothing else is on
its way. What it holds is bounded by those, not by the queue.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from pipeline.models import Document
from pipeline.settings import Settings


@dataclass
class Flushed:
    """One document of a flush: the jobs that waited on it, and what the index answered."""

    doc: Document
    waiters: list[Hashable]
    outcome: Any  # the writer's ItemResult


@dataclass
class BulkBuffer:
    """Documents for the next bulk request (see the module docstring)."""

    max_docs: int
    max_bytes: int
    max_delay_s: float
    docs: dict[str, Document] = field(default_factory=dict)
    waiters: dict[str, list[Hashable]] = field(default_factory=dict)
    text_bytes: int = 0
    since: float = 0.0  # when the oldest document came in

    @classmethod
    def from_settings(cls, settings: Settings) -> BulkBuffer:
        """A buffer bounded as the bulk writer's requests are."""
        return cls(settings.bulk_max_docs, settings.bulk_max_bytes, settings.bulk_max_delay_s)

    def __len__(self) -> int:
        return len(self.docs)

    def add(self, doc: Document, waiter: Hashable) -> None:
        """Hold ``doc`` for the next request, with the job (``waiter``) it answers."""
        if not self.docs:
            self.since = time.monotonic()
        if doc.doc_id not in self.docs:
            self.text_bytes += len(doc.text.encode("utf-8"))
        self.docs[doc.doc_id] = doc
        self.waiters.setdefault(doc.doc_id, []).append(waiter)

    def due(self, nothing_else_coming: bool = False) -> bool:
        """A full request's worth, the oldest waited long enough, or nothing else will join it."""
        if not self.docs:
            return False
        return (len(self.docs) >= self.max_docs or self.text_bytes >= self.max_bytes or nothing_else_coming
                or time.monotonic() - self.since >= self.max_delay_s)

    def flush(self, writer: Any) -> list[Flushed]:
        """Write everything held in bulk (``writer``: a :class:`~pipeline.sinks.opensearch.BulkWriter`)
        and empty the buffer; one :class:`Flushed` per document."""
        docs, waiters = self.docs, self.waiters
        self.docs, self.waiters, self.text_bytes = {}, {}, 0
        results = writer.write((doc_id, d.to_source()) for doc_id, d in docs.items())
        return [Flushed(doc, waiters.get(doc_id, []), results[doc_id]) for doc_id, doc in docs.items()]
