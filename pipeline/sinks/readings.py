"""Prior readings by digest, from the index: the OpenSearch side of "work never done twice".

The stage asks (:class:`pipeline.engine.stage.PriorReadings`) for a document whose bytes had the
same SHA-256 and were read under the same reading stamp; the answer is that document's pages
and text, to reuse. One ``search`` of two keyword terms per object, with a short time-out: the
lookup is an aid, and the stage reads the object when it fails.
"""

from __future__ import annotations

from typing import Any

from pipeline.models import PageResult, PriorReading
from pipeline.settings import Settings

LOOKUP_TIMEOUT_S = 5.0
SOURCE_FIELDS = ["content_type", "pages", "timings", "reused_from"]


class OpenSearchReadings:
    """Finds an indexed document by ``sha256`` and ``reading`` (both ``keyword`` fields)."""

    def __init__(self, client: Any, index: str, timeout_s: float = LOOKUP_TIMEOUT_S) -> None:
        self.client = client
        self.index = index
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenSearchReadings:
        """A lookup on the settings' index (its own client)."""
        from pipeline.sinks.opensearch import make_client

        return cls(make_client(settings), settings.index, min(LOOKUP_TIMEOUT_S, settings.opensearch_timeout_s))

    def find(self, sha256: str, reading: str, exclude_doc_id: str) -> PriorReading | None:
        """The first indexed document other than ``exclude_doc_id`` with this digest and stamp."""
        from opensearchpy.exceptions import NotFoundError

        query = {"bool": {"filter": [{"term": {"sha256": sha256}}, {"term": {"reading": reading}}],
                          "must_not": [{"ids": {"values": [exclude_doc_id]}}]}}
        try:
            response = self.client.search(index=self.index, body={"size": 1, "query": query},
                                          _source_includes=SOURCE_FIELDS, request_timeout=self.timeout_s)
        except NotFoundError:  # no index yet: nothing was ever read
            return None
        hits = response.get("hits", {}).get("hits", [])
        return prior_reading(hits[0]["_id"], hits[0]["_source"]) if hits else None


def prior_reading(doc_id: str, source: dict[str, Any]) -> PriorReading:
    """A prior reading from an indexed ``_source`` (a reuse of a reuse names the first reading)."""
    pages = [PageResult.from_summary(p) for p in source.get("pages") or []]
    timings = source.get("timings") or {}
    engine_s = float(timings.get("saved_s") or timings.get("ocr_s", 0.0) + timings.get("geometry_s", 0.0))
    return PriorReading(source.get("reused_from") or doc_id, source.get("content_type") or "", pages, engine_s)
