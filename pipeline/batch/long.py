"""Long documents in a backfill: their pages spread over the whole actor pool.

The first pass (:mod:`pipeline.batch.run`) hands whole objects to the actors; an object of
``batch_split_pages`` pages or more comes back from it *deferred* (opened and counted, not read).
This second pass cuts each deferred document into ranges of ``PAGES_PER_RANGE`` pages::

    ray.data.from_items(ranges) -> map_batches(OcrRange, actor pool: one warm engine per CPU slot)
      -> map_batches(Assembler, one actor: pages gathered until a document is whole)
      -> write_datasink(the same OpenSearchDatasink)

so a 300-page PDF takes every core of the cluster instead of one, as the stream service splits
it. Each range actor fetches the object once and keeps it (and the opened document) while its
ranges keep coming; the assembler emits each document when its last page arrives, or a failure
row when any range failed or the object changed between reads (ETags differ).
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from typing import Any

from pipeline.batch.actors import peak_rss_mb, result_schema, row_job
from pipeline.engine.documents import OpenedDocument
from pipeline.engine.stage import assemble_document, decode_page
from pipeline.errors import ObjectChanged, classify
from pipeline.models import PageResult
from pipeline.settings import Settings
from pipeline.sources.s3 import FetchedObject

PAGES_PER_RANGE = 8  # ~3.5 s of one core: fine-grained enough for a 16-core node, few fetches


def page_ranges(deferred: list[dict[str, Any]], per_range: int = PAGES_PER_RANGE) -> list[dict[str, Any]]:
    """One row per range of ``per_range`` pages of each deferred document (its job row + pages)."""
    rows = []
    for doc in deferred:
        count = int(doc["deferred_pages"])
        for first in range(1, count + 1, per_range):
            rows.append({**doc, "first": first, "last": min(count, first + per_range - 1)})
    return rows


class OcrRange:
    """One per actor: a warm stage; OCRs a range of pages of one document per row."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        from pipeline.engine.stage import warm_stage

        self.stage = warm_stage(settings, env)
        self._key: tuple[str, str, str] | None = None
        self._fetched: FetchedObject | None = None
        self._doc: OpenedDocument | None = None

    def __call__(self, batch: Any) -> Any:
        """``batch``: a pyarrow table of range rows; returns a table of range results."""
        import pyarrow as pa

        return pa.Table.from_pylist([self.one(row) for row in batch.to_pylist()])

    def one(self, row: dict[str, Any]) -> dict[str, Any]:
        """The pages ``first..last`` of the row's document, or the error that stopped them."""
        out = {"tag": row.get("tag") or "", "bucket": row["bucket"], "key": row["key"],
               "version_id": row.get("version_id") or "", "pages_total": int(row["deferred_pages"]),
               "first": row["first"], "last": row["last"], "etag": "", "size": 0, "content_type": "",
               "pages": None, "error_class": "", "reason": "", "retryable": False, "stamp": None,
               "seconds": 0.0, "sha256": ""}
        started = time.perf_counter()
        try:
            fetched, doc = self._open(row)
            pages = [self.stage.recognise(*decode_page(doc, n)) for n in range(row["first"], row["last"] + 1)]
        except Exception as exc:
            self._close()
            err = classify(exc)
            out.update(error_class=err.error_class, reason=err.reason, retryable=err.retryable)
        else:
            out.update(etag=fetched.etag, size=fetched.size, content_type=doc.content_type, sha256=fetched.sha256,
                       pages=pickle.dumps(pages, protocol=5), stamp=pickle.dumps(self.stage.engine_stamp()))
        out["seconds"] = time.perf_counter() - started
        out["worker_rss_mb"] = peak_rss_mb()
        return out

    def _open(self, row: dict[str, Any]) -> tuple[FetchedObject, OpenedDocument]:
        """The row's object, fetched and opened once for as long as its ranges keep coming here."""
        key = (row["bucket"], row["key"], row.get("version_id") or "")
        if key != self._key or self._doc is None or self._fetched is None:
            from pipeline.sources.listing import fetch_job

            self._close()
            self._fetched = fetch_job(self.stage, row_job(row))
            self._doc = self.stage.open(self._fetched.data)
            self._key = key
        return self._fetched, self._doc

    def _close(self) -> None:
        if self._doc is not None:
            self._doc.close()
        self._key, self._fetched, self._doc = None, None, None


@dataclass
class _Partial:
    ranges: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0


class Assembler:
    """One actor: gathers range results and emits each document (as the first pass's result row,
    for the same datasink) once all its pages are in."""

    def __init__(self) -> None:
        self.partial: dict[tuple[str, str, str], _Partial] = {}

    def __call__(self, batch: Any) -> Any:
        """Range results in; the result rows of the documents they complete out (often none)."""
        import pyarrow as pa

        done = [doc for row in batch.to_pylist() if (doc := self.add(row)) is not None]
        return pa.Table.from_pylist(done, schema=result_schema())

    def add(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """Keep ``row``; the document's result row when it completes it."""
        key = (row["bucket"], row["key"], row["version_id"])
        partial = self.partial.setdefault(key, _Partial())
        partial.ranges.append(row)
        partial.pages += row["last"] - row["first"] + 1
        if partial.pages < row["pages_total"]:
            return None
        del self.partial[key]
        return assemble_row(partial.ranges)


def assemble_row(ranges: list[dict[str, Any]]) -> dict[str, Any]:
    """The result row of a document from all its range results: the document, or the failure."""
    first = ranges[0]
    out = {"tag": first["tag"], "bucket": first["bucket"], "key": first["key"], "version_id": first["version_id"],
           "ok": False, "pages": 0, "error_class": "", "reason": "", "retryable": False, "document": None,
           "worker_rss_mb": max(r["worker_rss_mb"] for r in ranges), "deferred_pages": 0}
    failed = [r for r in ranges if r["error_class"]]
    if failed:
        bad = min(failed, key=lambda r: r["first"])
        reason = f"pages {bad['first']}-{bad['last']}: {bad['reason']}"
        return {**out, "error_class": bad["error_class"], "reason": reason, "retryable": bad["retryable"]}
    if len({r["etag"] for r in ranges}) > 1:
        return {**out, "error_class": ObjectChanged.__name__, "retryable": True,
                "reason": "the object changed while its pages were being read (ETags differ); run it again"}
    pages: list[PageResult] = [p for r in ranges for p in pickle.loads(r["pages"])]
    job = row_job(first)
    fetched = FetchedObject(b"", first["size"], first["etag"], first["version_id"], 0.0, first.get("sha256") or "")
    doc = assemble_document(job, fetched, first["content_type"], pages, sum(r["seconds"] for r in ranges),
                            pickle.loads(first["stamp"]))
    return {**out, "ok": True, "pages": doc.page_count, "document": pickle.dumps(doc, protocol=5)}


def spread_long_documents(settings: Settings, rows: list[dict[str, Any]], env: dict[str, str],
                          actors: int, cpus_each: float, sink: Any, write_cpus: float) -> None:
    """The second pass: OCR the deferred documents' page ranges (``page_ranges``) on ``actors``
    actors, assemble them on one, and write them with ``sink`` (its ``outcome``: what was done)."""
    import ray.data

    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    # one range at a time per actor: a queued range goes to whichever actor frees first (Ray Data's
    # default queues up to four on the first actor ready, which then reads most of the document)
    pool = ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1)
    ds = ds.map_batches(OcrRange, fn_constructor_args=(settings, env), batch_size=1, batch_format="pyarrow",
                        compute=pool, num_cpus=cpus_each)
    ds = ds.map_batches(Assembler, batch_size=None, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=1),
                        num_cpus=0)
    ds.write_datasink(sink, ray_remote_args={"num_cpus": write_cpus}, concurrency=2)
