"""Long documents in a backfill: their pages spread over the whole actor pool.

The first pass (:mod:`pipeline.batch.run`) hands whole objects to the actors; a long one
(:func:`pipeline.engine.documents.is_long`, ``OCR_SPLIT_PAGES``) comes back from it *deferred* (opened
and counted, not read). This second pass cuts each deferred document into the stage's page ranges
(:func:`pipeline.engine.split.page_ranges`)::

    ray.data.from_items(ranges) -> map_batches(OcrRange, actor pool: one warm engine per CPU slot)
      -> map_batches(Assembler, one actor: the stage's Parts, until a document is whole)
      -> write_datasink(the same OpenSearchDatasink)

so a 300-page PDF takes every core of the cluster instead of one, as the stream service splits
it. Each range actor fetches the object once and keeps it (and the opened document) while its
ranges keep coming; the assembler emits each document when its last range arrives, or a failure
row when any range failed or the object changed between reads (ETags differ). What is read and how
a document is put together is the stage's (:mod:`pipeline.engine.split`); this module only moves
rows.
"""

from __future__ import annotations

import pickle
import time
from typing import Any

from pipeline.batch.actors import peak_rss_mb, result_schema, row_job
from pipeline.engine.split import OpenRun, Parts, page_ranges, read_range
from pipeline.engine.stage import LongDocument
from pipeline.errors import classify
from pipeline.models import Failure, FetchedObject
from pipeline.settings import Settings


def range_rows(deferred: list[dict[str, Any]], split_pages: int) -> list[dict[str, Any]]:
    """One row per page range of each deferred document (its job row + ``first``, ``last``)."""
    return [{**doc, "first": first, "last": last}
            for doc in deferred for first, last in page_ranges(int(doc["deferred_pages"]), split_pages)]


class OcrRange:
    """One per actor: a warm stage; OCRs a range of pages of one document per row."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        from pipeline.fleet.raycluster import warm_stage
        from pipeline.sources.fetch import Fetcher

        self.stage = warm_stage(settings, env)
        self.fetcher = Fetcher(settings)
        self.run: OpenRun[FetchedObject] = OpenRun(self.stage)  # the document whose ranges come here now

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
            fetched, doc = self.run.opened((row["bucket"], row["key"], row.get("version_id") or ""),
                                           lambda: self._fetch(row))
            pages = read_range(self.stage, doc, row["first"], row["last"])
        except Exception as exc:
            self.run.close()
            out.update(classify(exc).fields())
        else:
            out.update(etag=fetched.etag, size=fetched.size, content_type=doc.content_type, sha256=fetched.sha256,
                       pages=pickle.dumps(pages, protocol=5), stamp=pickle.dumps(self.stage.engine_stamp()))
        out["seconds"] = time.perf_counter() - started
        out["worker_rss_mb"] = peak_rss_mb()
        return out

    def _fetch(self, row: dict[str, Any]) -> tuple[FetchedObject, bytes]:
        fetched = self.fetcher.fetch(row_job(row))
        return fetched, fetched.data


class Assembler:
    """One actor: gathers range results into the stage's :class:`Parts` and emits each document
    (as the first pass's result row, for the same datasink) once all its pages are in."""

    def __init__(self) -> None:
        self.partial: dict[tuple[str, str, str], tuple[Parts, list[dict[str, Any]]]] = {}

    def __call__(self, batch: Any) -> Any:
        """Range results in; the result rows of the documents they complete out (often none)."""
        import pyarrow as pa

        done = [doc for row in batch.to_pylist() if (doc := self.add(row)) is not None]
        return pa.Table.from_pylist(done, schema=result_schema())

    def add(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """Keep ``row``; the document's result row when it completes it."""
        key = (row["bucket"], row["key"], row["version_id"])
        if key not in self.partial:
            self.partial[key] = (Parts(_long_document(row)), [])
        parts, rows = self.partial[key]
        rows.append(row)
        if row["error_class"]:
            parts.fail(row["first"], row["last"], _range_failure(row))
        else:
            parts.add(pickle.loads(row["pages"]), row["seconds"], row["etag"])
        if not parts.complete:
            return None
        del self.partial[key]
        return document_row(parts, rows)


def document_row(parts: Parts, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The first pass's result row of a document put together from its ranges (``rows``)."""
    first = rows[0]
    out = {"tag": first["tag"], "bucket": first["bucket"], "key": first["key"], "version_id": first["version_id"],
           "ok": False, "pages": 0, "error_class": "", "reason": "", "retryable": False, "document": None,
           "worker_rss_mb": max(r["worker_rss_mb"] for r in rows), "deferred_pages": 0}
    failure = parts.failure()
    if failure is not None:
        return {**out, **failure.fields()}
    doc = parts.document()
    return {**out, "ok": True, "pages": doc.page_count, "document": pickle.dumps(doc, protocol=5)}


def _long_document(row: dict[str, Any]) -> LongDocument:
    """What a range row says of its document (the first range read names its version and stamp)."""
    fetched = FetchedObject(b"", row["size"], row["etag"], row["version_id"], 0.0, row.get("sha256") or "")
    stamp = pickle.loads(row["stamp"]) if row.get("stamp") else ("", "", "")
    return LongDocument(row_job(row), fetched, row["content_type"], int(row["pages_total"]), stamp)


def _range_failure(row: dict[str, Any]) -> Failure:
    return Failure(row["bucket"], row["key"], row["version_id"], row["error_class"], row["reason"], row["retryable"])


def spread_long_documents(settings: Settings, rows: list[dict[str, Any]], env: dict[str, str],
                          actors: int, cpus_each: float, sink: Any, write_cpus: float) -> None:
    """The second pass: OCR the deferred documents' page ranges (``range_rows``) on ``actors``
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
