"""The batch OCR step: a callable class for ``map_batches`` on an actor pool.

Each actor builds one :class:`~pipeline.engine.stage.OcrStage` and sets it up once (a warm engine), then
turns each row (a job) into a result row: the document (pickled, for the sink) or the failure's
class and reason. Nothing raises out of ``__call__``: a corrupt object is a row, not a crash.
"""

from __future__ import annotations

import pickle
import resource
from collections.abc import Callable
from typing import Any

from pipeline.engine.stage import LongDocument
from pipeline.errors import classify
from pipeline.models import Job
from pipeline.settings import Settings

JOB_FIELDS = ("bucket", "key", "version_id", "etag", "size", "tag")


def job_row(job: Job, tag: str = "") -> dict[str, Any]:
    """A dataset row for a job; ``tag`` travels to the result (the DLQ uses the message id)."""
    return {"bucket": job.bucket, "key": job.key, "version_id": job.version_id, "etag": job.etag,
            "size": -1 if job.size is None else int(job.size), "tag": tag}


def row_job(row: dict[str, Any]) -> Job:
    """The job a dataset row names."""
    size = row.get("size")
    return Job(bucket=row["bucket"], key=row["key"], version_id=row.get("version_id") or "",
               etag=row.get("etag") or "", size=None if size is None or size < 0 else int(size))


def result_schema() -> Any:
    """The result rows' schema (fixed, so every block agrees even when a column is all empty)."""
    import pyarrow as pa

    return pa.schema([
        ("tag", pa.string()), ("bucket", pa.string()), ("key", pa.string()), ("version_id", pa.string()),
        ("ok", pa.bool_()), ("pages", pa.int64()), ("error_class", pa.string()), ("reason", pa.string()),
        ("retryable", pa.bool_()), ("document", pa.binary()), ("worker_rss_mb", pa.float64()),
        ("deferred_pages", pa.int64()),
    ])


class OcrBatch:
    """One per actor: a warm stage; ``__call__`` OCRs a batch of job rows into result rows.

    A long document (:func:`pipeline.engine.documents.is_long` by ``split_pages``; 0: none) is only
    opened and counted: its row comes back *deferred* (``deferred_pages``), for
    :mod:`pipeline.batch.long` to spread.
    """

    def __init__(self, settings: Settings, env: dict[str, str] | None = None, split_pages: int = 0) -> None:
        from pipeline.fleet.raycluster import warm_stage
        from pipeline.sources.fetch import Fetcher

        self.stage = warm_stage(settings, env)
        self.fetcher = Fetcher(settings)
        self.split_pages = split_pages

    def __call__(self, batch: Any) -> Any:
        """``batch``: a pyarrow table of job rows; returns a table of result rows."""
        import pyarrow as pa

        from pipeline.sources.fetch import in_turn

        rows = batch.to_pylist()
        fetches = in_turn(self.fetcher.fetch, [row_job(row) for row in rows])
        out = [self.one(row, fetch) for row, (_, fetch) in zip(rows, fetches, strict=True)]
        return pa.Table.from_pylist(out, schema=result_schema())

    def one(self, row: dict[str, Any], fetch: Callable[[], Any] | None = None) -> dict[str, Any]:
        """OCR one job row (its bytes from ``fetch``, else fetched now); any failure is sorted onto
        the error tree and returned as data."""
        job = row_job(row)
        out = {"tag": row.get("tag") or "", "bucket": job.bucket, "key": job.key, "version_id": job.version_id,
               "ok": False, "pages": 0, "error_class": "", "reason": "", "retryable": False, "document": None,
               "deferred_pages": 0}
        try:
            fetched = fetch() if fetch is not None else self.fetcher.fetch(job)
            done = self.stage.read_or_defer(job, fetched, self.split_pages)
        except Exception as exc:
            out.update(classify(exc).fields())
        else:
            if isinstance(done, LongDocument):  # spread over the pool by the second pass, the version read now
                out.update(deferred_pages=done.page_count, version_id=fetched.version_id or job.version_id)
            else:
                out.update(ok=True, pages=done.page_count, document=pickle.dumps(done, protocol=5))
        out["worker_rss_mb"] = peak_rss_mb()
        return out


def peak_rss_mb() -> float:
    """This process's peak resident memory, MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
