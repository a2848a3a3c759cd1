"""OpenSearch: the index and its Japanese-aware mapping, a bulk writer that reads every item, and
the index's lookups (the versions already indexed, for ``--skip-existing``; earlier readings of the
same bytes, for reuse: :class:`OpenSearchReadings`).

A 200 response with item errors is never success. Items answered 429 or 5xx are retried with
backoff; ``409`` on ``create`` counts as done (already indexed); any other item error is reported
for that document alone. A whole request refused with 413 is split in half; 429/5xx, time-outs and
connection resets are retried, then every item of the request fails as ``IndexUnavailable``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.errors import IndexRejected, IndexUnavailable, OcrClusterError
from pipeline.models import Job, PageResult, PriorReading
from pipeline.settings import Settings

INDEX_BODY: dict[str, Any] = {
    "settings": {"index": {"number_of_shards": 1, "refresh_interval": "1s"}},
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "bucket": {"type": "keyword"},
            "key": {"type": "keyword", "fields": {"text": {"type": "text"}}},
            "version_id": {"type": "keyword"},
            "etag": {"type": "keyword"},
            "size": {"type": "long"},
            "content_type": {"type": "keyword"},
            "page_count": {"type": "integer"},
            "text": {"type": "text", "fields": {"ja": {"type": "text", "analyzer": "kuromoji"}}},
            "pages": {"type": "object", "enabled": False},
            "confidence": {"type": "float"},
            "engine": {"type": "keyword"},
            "languages": {"type": "keyword"},
            "timings": {"type": "object", "enabled": False},
            "processed_at": {"type": "date"},
            "sha256": {"type": "keyword"},
            "reading": {"type": "keyword"},
            "reused_from": {"type": "keyword"},
        },
    },
}
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
LOOKUP_BATCH = 1000  # ids per mget when a backfill looks for versions already indexed


def make_client(settings: Settings) -> Any:
    """An opensearch-py client: no auth locally, SigV4 for Amazon OpenSearch Service, TLS verified."""
    from opensearchpy import OpenSearch, RequestsHttpConnection

    kwargs: dict[str, Any] = {
        "hosts": [settings.opensearch_url],
        "timeout": settings.opensearch_timeout_s,
        "verify_certs": settings.opensearch_verify_tls,
        "http_compress": True,
        "max_retries": 0,
    }
    if settings.opensearch_auth == "sigv4":
        import boto3
        from opensearchpy import AWSV4SignerAuth

        session = boto3.session.Session()
        kwargs["http_auth"] = AWSV4SignerAuth(session.get_credentials(), session.region_name, "es")
        kwargs["connection_class"] = RequestsHttpConnection
    elif settings.opensearch_auth == "basic":
        kwargs["http_auth"] = (settings.opensearch_user, settings.opensearch_password.get_secret_value())
    return OpenSearch(**kwargs)


ADDED_FIELDS = ("sha256", "reading", "reused_from")  # added to indices created before them


def ensure_index(client: Any, index: str) -> bool:
    """Create the index with its mapping unless it exists (then add the fields it lacks, which a
    strict mapping would refuse); True when created now."""
    from opensearchpy.exceptions import RequestError

    if client.indices.exists(index=index):
        add_missing_fields(client, index)
        return False
    try:
        client.indices.create(index=index, body=INDEX_BODY)
    except RequestError as exc:
        if "already_exists" in str(exc.error):
            return False
        raise
    return True


def add_missing_fields(client: Any, index: str) -> None:
    """Put the mapping of :data:`ADDED_FIELDS` on an existing index (adding fields is allowed;
    putting ones it already has is a no-op)."""
    properties = INDEX_BODY["mappings"]["properties"]
    client.indices.put_mapping(index=index, body={"properties": {name: properties[name] for name in ADDED_FIELDS}})


@dataclass
class ItemResult:
    """What happened to one document of a bulk write: written, or the error of the tree that
    stopped it (``IndexRejected``: this document is refused; ``IndexUnavailable``: try later)."""

    doc_id: str
    ok: bool
    status: int = 200
    error: OcrClusterError | None = None

    @property
    def error_class(self) -> str:
        """The error's class name ("" when written)."""
        return self.error.error_class if self.error else ""

    @property
    def reason(self) -> str:
        """The error's reason ("" when written)."""
        return self.error.reason if self.error else ""

    @property
    def retryable(self) -> bool:
        """Whether a later try may succeed."""
        return bool(self.error and self.error.retryable)


@dataclass
class _Action:
    doc_id: str
    lines: bytes


class BulkWriter:
    """Writes documents in bulk requests bounded by bytes and count; answers per document."""

    def __init__(
        self,
        client: Any,
        index: str,
        max_bytes: int = 5 * 1024**2,
        max_docs: int = 500,
        retries: int = 6,
        op: str = "index",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.index = index
        self.max_bytes = max_bytes
        self.max_docs = max_docs
        self.retries = retries
        self.op = op
        self._sleep = sleep
        self.requests_sent = 0

    @classmethod
    def from_settings(cls, settings: Settings, client: Any = None, op: str = "index") -> BulkWriter:
        """A writer configured from settings (creating the client when none is given)."""
        return cls(
            client or make_client(settings),
            settings.index,
            max_bytes=settings.bulk_max_bytes,
            max_docs=settings.bulk_max_docs,
            retries=settings.bulk_retries,
            op=op,
        )

    def write(self, docs: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, ItemResult]:
        """Index ``(doc_id, source)`` pairs; returns one result per doc id."""
        results: dict[str, ItemResult] = {}
        for chunk in self._chunks(self._actions(docs)):
            for result in self._send_with_retries(chunk):
                results[result.doc_id] = result
        return results

    def _actions(self, docs: Iterable[tuple[str, dict[str, Any]]]) -> Iterable[_Action]:
        for doc_id, source in docs:
            meta = json.dumps({self.op: {"_index": self.index, "_id": doc_id}})
            body = json.dumps(source, ensure_ascii=False, separators=(",", ":"))
            yield _Action(doc_id, f"{meta}\n{body}\n".encode())

    def _chunks(self, actions: Iterable[_Action]) -> Iterable[list[_Action]]:
        chunk: list[_Action] = []
        size = 0
        for action in actions:
            if chunk and (len(chunk) >= self.max_docs or size + len(action.lines) > self.max_bytes):
                yield chunk
                chunk, size = [], 0
            chunk.append(action)
            size += len(action.lines)
        if chunk:
            yield chunk

    def _send_with_retries(self, actions: list[_Action]) -> list[ItemResult]:
        done: list[ItemResult] = []
        pending = actions
        for attempt in range(self.retries + 1):
            results = self._send(pending)
            retry_ids = {r.doc_id for r in results if r.retryable and not r.ok}
            done.extend(r for r in results if r.doc_id not in retry_ids)
            pending = [a for a in pending if a.doc_id in retry_ids]
            if not pending:
                return done
            if attempt < self.retries:
                self._sleep(backoff(attempt))
        done.extend(r for r in results if r.doc_id in retry_ids)
        return done

    def _send(self, actions: list[_Action]) -> list[ItemResult]:
        from opensearchpy import exceptions as ox

        try:
            self.requests_sent += 1
            # POST /<index>/_bulk, not /_bulk: Amazon OpenSearch Service authorises a request by its
            # path, and the roles may write this index only (terraform/modules/iam, operator).
            response = self.client.bulk(index=self.index, body=b"".join(a.lines for a in actions))
        except ox.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            if status == 413 and len(actions) > 1:
                half = len(actions) // 2
                return self._send(actions[:half]) + self._send(actions[half:])
            return [_request_failed(a.doc_id, status, exc) for a in actions]
        items = response.get("items", [])
        results = [self._item(a, item) for a, item in zip(actions, items, strict=False)]
        missing = actions[len(items) :]
        return results + [_request_failed(a.doc_id, 0, "no item in the bulk response") for a in missing]

    def _item(self, action: _Action, item: dict[str, Any]) -> ItemResult:
        body = next(iter(item.values()))
        status = int(body.get("status", 0))
        if 200 <= status < 300 or (status == 409 and self.op == "create"):
            return ItemResult(action.doc_id, True, status)
        error = body.get("error") or {}
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}" if isinstance(error, dict) else str(error)
        return ItemResult(action.doc_id, False, status, _index_error(status in RETRYABLE_STATUS, f"{status} {reason}"))


def _index_error(retryable: bool, reason: str) -> OcrClusterError:
    """``IndexUnavailable`` (transient: retry later) or ``IndexRejected`` (this document is refused)."""
    return IndexUnavailable(reason) if retryable else IndexRejected(reason)


def _request_failed(doc_id: str, status: int, exc: object) -> ItemResult:
    """A whole-request failure: retryable unless it is a 4xx other than 429 (a lone 413 included)."""
    retryable = status == 0 or status in RETRYABLE_STATUS
    reason = f"bulk request failed ({status or 'no answer'}): {exc}"
    return ItemResult(doc_id, False, status, _index_error(retryable, reason))


def backoff(attempt: int, base: float = 0.2, cap: float = 10.0) -> float:
    """Full-jitter exponential backoff: a random wait in ``[0, min(cap, base * 2**attempt)]``."""
    return random.uniform(0, min(cap, base * 2**attempt))


def refresh(client: Any, index: str) -> None:
    """Make what was written searchable now (tests and the demo; osmem needs it explicitly)."""
    client.indices.refresh(index=index)


def existing_versions(client: Any, index: str, doc_ids: list[str]) -> set[str]:
    """Which of these ids are already indexed: one ``mget`` per call, not one request per id."""
    if not doc_ids:
        return set()
    response = client.mget(index=index, body={"ids": doc_ids}, _source=False)
    return {d["_id"] for d in response.get("docs", []) if d.get("found")}


def split_existing(client: Any, index: str, jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """``(to_do, already_indexed)``: ids looked up ``LOOKUP_BATCH`` at a time with one ``mget`` each."""
    if not client.indices.exists(index=index):
        return jobs, []
    found: set[str] = set()
    for start in range(0, len(jobs), LOOKUP_BATCH):
        found |= existing_versions(client, index, [j.doc_id for j in jobs[start : start + LOOKUP_BATCH]])
    return [j for j in jobs if j.doc_id not in found], [j for j in jobs if j.doc_id in found]


# Prior readings by digest: the index's side of "work never done twice". The stage asks
# (:class:`pipeline.engine.stage.PriorReadings`) for a document whose bytes had the same SHA-256 and
# were read under the same reading stamp; the answer is that document's pages and text, to reuse.
# One ``search`` of two keyword terms per object, with a short time-out: the lookup is an aid, and
# the stage reads the object when it fails. The stream first asks, for a batch of messages at once,
# which of their ETags an indexed document has (``etags_read``): an object whose ETag is its bytes'
# MD5 and which none has is not looked up again (``pipeline.stream.lookahead``).

LOOKUP_TIMEOUT_S = 5.0
SOURCE_FIELDS = ["content_type", "pages", "timings", "reused_from"]


class OpenSearchReadings:
    """Finds an indexed document by ``sha256`` and ``reading`` (both ``keyword`` fields)."""

    def __init__(self, client: Any, index: str, timeout_s: float = LOOKUP_TIMEOUT_S) -> None:
        self.client = client
        self.index = index
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings, client: Any = None) -> OpenSearchReadings:
        """A lookup on the settings' index (its own client unless one is given)."""
        return cls(client or make_client(settings), settings.index,
                   min(LOOKUP_TIMEOUT_S, settings.opensearch_timeout_s))

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

    def etags_read(self, etags: list[str], reading: str) -> set[str]:
        """Which of ``etags`` an indexed document read under the stamp ``reading`` has: one search
        (a terms aggregation, no documents) for a batch of objects, before they are fetched."""
        from opensearchpy.exceptions import NotFoundError

        wanted = sorted(set(etags))
        if not wanted:
            return set()
        query = {"bool": {"filter": [{"terms": {"etag": wanted}}, {"term": {"reading": reading}}]}}
        body = {"size": 0, "query": query, "aggs": {"etags": {"terms": {"field": "etag", "size": len(wanted)}}}}
        try:
            response = self.client.search(index=self.index, body=body, request_timeout=self.timeout_s)
        except NotFoundError:  # no index yet: nothing was ever read
            return set()
        return {b["key"] for b in response.get("aggregations", {}).get("etags", {}).get("buckets", [])}


def prior_reading(doc_id: str, source: dict[str, Any]) -> PriorReading:
    """A prior reading from an indexed ``_source`` (a reuse of a reuse names the first reading)."""
    pages = [PageResult.from_summary(p) for p in source.get("pages") or []]
    timings = source.get("timings") or {}
    engine_s = float(timings.get("saved_s") or timings.get("ocr_s", 0.0) + timings.get("geometry_s", 0.0))
    return PriorReading(source.get("reused_from") or doc_id, source.get("content_type") or "", pages, engine_s)
