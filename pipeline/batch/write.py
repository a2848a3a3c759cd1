"""The backfill's write step: a Ray Data datasink around :class:`~pipeline.sinks.opensearch.BulkWriter`
for the OCR pass's result rows (in the batch runtime's room: it routes the rows a pass deferred and
runs in Ray's write tasks, which take the driver's environment; the sinks it writes to know no Ray).

Each write task bulk-indexes the documents of its rows (one bulk request per ``min_rows`` rows,
bounded by the writer's byte/count limits), reads every item's answer, and turns refused items
into failure records, so an index error is data like an OCR error. With a Parquet path it also
writes this task's documents and per-page timing records as part files. Rows of long documents
the first pass deferred are passed on (``outcome["deferred"]``) for the second. The driver's
copy gathers every task's outcome in :attr:`outcome`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from typing import Any

from ray.data import Datasink

from pipeline.errors import IndexUnavailable
from pipeline.settings import Settings

FAILURE_FIELDS = ("tag", "bucket", "key", "version_id", "error_class", "reason", "retryable")


class OpenSearchDatasink(Datasink):
    """Index result rows' documents; report processed / pages / failures per task."""

    def __init__(self, settings: Settings, parquet_path: str = "", run_id: str = "run",
                 progress: Any = None, min_rows: int = 16, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.parquet_path = parquet_path.rstrip("/")
        self.run_id = run_id
        self.progress = progress
        self.min_rows = min_rows
        self.env = env or {}  # the driver's AWS endpoint/region, for the Parquet parts
        self.outcome: dict[str, Any] = empty_outcome()

    @property
    def min_rows_per_write(self) -> int:
        """Rows buffered per write task (one bulk request for small documents)."""
        return self.min_rows

    def on_write_start(self, schema: Any = None) -> None:
        """Create the index with its mapping if it is missing."""
        from pipeline.sinks.opensearch import ensure_index, make_client

        ensure_index(make_client(self.settings), self.settings.index)

    def write(self, blocks: Iterable[Any], ctx: Any) -> dict[str, Any]:
        """Bulk-index this task's documents; returns its outcome (counts and failure records)."""
        from pipeline.fleet.raycluster import adopt_env
        from pipeline.sinks.opensearch import BulkWriter

        adopt_env(self.env)
        rows = [row for block in blocks for row in _rows(block)]
        deferred = [_deferred(r) for r in rows if r.get("deferred_pages")]
        rows = [r for r in rows if not r.get("deferred_pages")]
        failures = [_failure(r) for r in rows if not r["ok"]]
        pairs = [(r, pickle.loads(r["document"])) for r in rows if r["ok"]]
        results = BulkWriter.from_settings(self.settings).write((d.doc_id, d.to_source()) for _, d in pairs)
        written = []
        for row, doc in pairs:
            item = results.get(doc.doc_id)
            if item is not None and item.ok:
                written.append(doc)
            else:
                failures.append(_index_failure(row, item))
        if self.parquet_path and written:
            self._write_parquet(written, ctx)
        outcome = {"processed": len(written), "pages": sum(d.page_count for d in written), "failures": failures,
                   "worker_rss_mb": max((r.get("worker_rss_mb") or 0.0 for r in rows), default=0.0),
                   "deferred": deferred, "skipped": skipped_total(written)}
        if self.progress is not None:
            self.progress.add.remote(len(rows), outcome["pages"], len(failures))
        return outcome

    def _write_parquet(self, docs: list[Any], ctx: Any) -> None:
        from pipeline.sinks.parquet import document_row, page_rows, write_rows

        name = f"{self.run_id}-{getattr(ctx, 'task_idx', 0):05d}.parquet"
        write_rows([document_row(d) for d in docs], f"{self.parquet_path}/documents/{name}")
        write_rows([p for d in docs for p in page_rows(d)], f"{self.parquet_path}/pages/{name}")

    def on_write_complete(self, write_result: Any) -> None:
        """Gather every task's outcome on the driver."""
        for part in write_result.write_returns:
            merge_outcome(self.outcome, part)


def empty_outcome() -> dict[str, Any]:
    """An outcome with nothing in it."""
    return {"processed": 0, "pages": 0, "failures": [], "worker_rss_mb": 0.0, "deferred": [],
            "skipped": skipped_total([])}


def skipped_total(docs: list[Any]) -> dict[str, Any]:
    """The work these documents did not need the engine for (``Document.skipped_work``, summed)."""
    from pipeline.models import no_skipped_work

    total = no_skipped_work()
    for doc in docs:
        for name, value in doc.skipped_work().items():
            total[name] += value
    return total


def merge_outcome(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add ``part`` into ``total``."""
    total["processed"] += part["processed"]
    total["pages"] += part["pages"]
    total["failures"].extend(part["failures"])
    total["deferred"].extend(part.get("deferred", []))
    total["worker_rss_mb"] = max(total["worker_rss_mb"], part["worker_rss_mb"])
    for name, value in part.get("skipped", {}).items():
        total["skipped"][name] += value


def _rows(block: Any) -> list[dict[str, Any]]:
    from ray.data.block import BlockAccessor

    return list(BlockAccessor.for_block(block).iter_rows(public_row_format=False))


def _deferred(row: dict[str, Any]) -> dict[str, Any]:
    """A long document's job, for the second pass (which reads the version the first one read)."""
    return {"tag": row["tag"], "bucket": row["bucket"], "key": row["key"], "version_id": row["version_id"],
            "etag": "", "size": -1, "deferred_pages": int(row["deferred_pages"])}


def _failure(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in FAILURE_FIELDS}


def _index_failure(row: dict[str, Any], item: Any) -> dict[str, Any]:
    """A document OCR'd but refused by the index (or left unanswered) as a failure record."""
    error = IndexUnavailable("no bulk answer") if item is None else item.error
    return _failure({**row, **error.fields()})
