"""Prometheus metrics through Ray's metrics agent (scraped from each node's metrics port).

pages/s comes from ``ocr_pages_total``; messages settled by outcome (``ocr_messages_total``),
errors by class, in-flight messages, end-to-end latency and OCR seconds per page are exported as
well, and the work not done: documents and pages reused from an earlier reading of the same
bytes, the engine seconds that saved, and pages the ink test found blank.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline.models import no_skipped_work

LATENCY_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900]
PAGE_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]


def indexed_record(doc: Any, latency_s: float, sent_at: float | None, received_at: float,
                   indexed_at: float) -> dict[str, Any]:
    """What the service keeps of an indexed document (its records: what scaling reads, and the
    stream command's ``--records``): key, pages, latency, when it was sent, received and indexed,
    its timings and each page's."""
    return {"doc_id": doc.doc_id, "key": doc.key, "pages": doc.page_count, "latency_s": latency_s,
            "sent_at": sent_at, "received_at": received_at, "indexed_at": indexed_at, **doc.timings,
            "page_timings": [{"page": p.page, "decode_s": p.decode_s, "ocr_s": p.ocr_s, "clean_s": p.clean_s,
                              "geometry_s": p.geometry_s, "source": p.source} for p in doc.pages]}


class StreamMetrics:
    """The service's metrics; a no-op when Ray's metrics are unavailable."""

    def __init__(self) -> None:
        self._m: dict[str, Any] = {}
        try:
            from ray.util import metrics as rm

            self._m = {
                "pages": rm.Counter("ocr_pages_total", "Pages recognised."),
                "messages": rm.Counter("ocr_messages_total", "Messages settled, by outcome.", tag_keys=("outcome",)),
                "errors": rm.Counter("ocr_errors_total", "Failures by error class.", tag_keys=("error_class",)),
                "in_flight": rm.Gauge("ocr_in_flight_messages", "Messages being processed."),
                "latency": rm.Histogram(
                    "ocr_latency_seconds", "Message sent to document indexed.", boundaries=LATENCY_BUCKETS
                ),
                "page_seconds": rm.Histogram("ocr_page_seconds", "Engine seconds per page.", boundaries=PAGE_BUCKETS),
                "reused_documents": rm.Counter("ocr_reused_documents_total", "Documents reusing a prior reading."),
                "reused_pages": rm.Counter("ocr_reused_pages_total", "Pages reused from a prior reading."),
                "saved_seconds": rm.Counter("ocr_reuse_saved_seconds_total", "Engine seconds reuse saved."),
                "blank_pages": rm.Counter("ocr_blank_pages_total", "Pages the ink test found blank (not read)."),
            }
        except Exception:  # metrics are an aid, never a reason to stop
            self._m = {}
        self.pages = 0
        self.skipped = no_skipped_work()
        self.settled: Counter[str] = Counter()  # messages settled, by outcome

    def document_indexed(self, doc: Any, latency_s: float) -> None:
        """Count a document's pages and latency, and what it did not need the engine for."""
        self.pages += doc.page_count
        skipped = doc.skipped_work()
        for name, value in skipped.items():
            self.skipped[name] += value
        if not self._m:
            return
        for name, value in skipped.items():
            if value:
                self._m[name].inc(value)
        self._m["pages"].inc(doc.page_count)
        self._m["latency"].observe(max(0.0, latency_s))
        for page in doc.pages:
            if page.ocr_s:
                self._m["page_seconds"].observe(page.ocr_s)

    def message_settled(self, outcome: str, error_class: str = "") -> None:
        """Count one settled message (and its error class)."""
        self.settled[outcome] += 1
        if not self._m:
            return
        self._m["messages"].inc(1, tags={"outcome": outcome})
        if error_class:
            self._m["errors"].inc(1, tags={"error_class": error_class})

    def in_flight(self, count: int) -> None:
        """Set the in-flight gauge."""
        if self._m:
            self._m["in_flight"].set(count)

