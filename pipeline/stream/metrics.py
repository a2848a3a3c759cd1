"""Prometheus metrics through Ray's metrics agent (scraped from each node's metrics port).

pages/s comes from ``ocr_pages_total``; documents by outcome, errors by class, in-flight
messages, end-to-end latency and OCR seconds per page are exported as well.
"""

from __future__ import annotations

from typing import Any

LATENCY_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900]
PAGE_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]


class StreamMetrics:
    """The service's metrics; a no-op when Ray's metrics are unavailable."""

    def __init__(self) -> None:
        self._m: dict[str, Any] = {}
        try:
            from ray.util import metrics as rm

            self._m = {
                "pages": rm.Counter("ocr_pages_total", "Pages recognised."),
                "documents": rm.Counter("ocr_documents_total", "Messages settled, by outcome.", tag_keys=("outcome",)),
                "errors": rm.Counter("ocr_errors_total", "Failures by error class.", tag_keys=("error_class",)),
                "in_flight": rm.Gauge("ocr_in_flight_messages", "Messages being processed."),
                "latency": rm.Histogram(
                    "ocr_latency_seconds", "Message sent to document indexed.", boundaries=LATENCY_BUCKETS
                ),
                "page_seconds": rm.Histogram("ocr_page_seconds", "Engine seconds per page.", boundaries=PAGE_BUCKETS),
            }
        except Exception:  # metrics are an aid, never a reason to stop
            self._m = {}
        self.pages = 0

    def document_indexed(self, doc: Any, latency_s: float) -> None:
        """Count a document's pages and latency."""
        self.pages += doc.page_count
        if not self._m:
            return
        self._m["pages"].inc(doc.page_count)
        self._m["latency"].observe(max(0.0, latency_s))
        for page in doc.pages:
            if page.ocr_s:
                self._m["page_seconds"].observe(page.ocr_s)

    def message_settled(self, outcome: str, error_class: str = "") -> None:
        """Count one settled message (and its error class)."""
        if not self._m:
            return
        self._m["documents"].inc(1, tags={"outcome": outcome})
        if error_class:
            self._m["errors"].inc(1, tags={"error_class": error_class})

    def in_flight(self, count: int) -> None:
        """Set the in-flight gauge."""
        if self._m:
            self._m["in_flight"].set(count)
