"""The batch runtime: jobs (an S3 prefix, a local directory, the drained DLQ) as a Ray Dataset.

::

    list (driver) -> [skip what is indexed: one mget per 1,000 ids] -> ray.data.from_items
      -> map_batches(OcrBatch, actor pool: one warm engine per CPU slot)
      -> write_datasink(OpenSearchDatasink: bulk + per-item results [+ Parquet parts])
    then, for documents of more than OCR_SPLIT_PAGES pages (deferred by OcrBatch: OcrStage.read_or_defer):
      page ranges -> map_batches(OcrRange, the pool) -> map_batches(Assembler) -> the same datasink

The OCR stage and the bulk writer are the stream's own; this module only shapes the pool and
counts. Actors take slightly less than a CPU each so the write tasks always find room (a pool
that takes every CPU of a 2-CPU cluster waits forever for its writers).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipeline.batch.actors import OcrBatch, job_row, peak_rss_mb
from pipeline.batch.progress import ProgressBar
from pipeline.fleet.raycluster import worker_env
from pipeline.models import Job
from pipeline.settings import Settings
from pipeline.sources.listing import ListingFilter, list_sources

RESERVED_CPUS = 0.5  # left to the write tasks
MAX_ROWS_PER_BLOCK = 32  # an actor task's objects: written (and resumable) once it ends
# A one-line scan, a receipt or a stamp (3-16 KiB as PNG): packed up to MAX_ROWS_PER_BLOCK a block,
# where a block's ~20-35 ms of CPU is as much as the object's OCR. Not a quarter page (~40 KiB) or an
# A4 text page (50-110 KiB as PNG, ~0.3 s of OCR): packed at 256 KiB, a 40-page backfill of A4 pages
# on 2 cores fell from 1.64 to 1.02 pages/s (0.48 -> 0.32 of the engine), and quarter pages gained
# nothing (docs/small-objects.md).
SMALL_OBJECT_BYTES = 32 * 1024
BLOCKS_PER_ACTOR = 8  # packed small objects still leave each actor this many tasks to even out the tail
WRITE_CPUS = 0.25


@dataclass
class BatchSummary:
    """What a batch run did: counts, pages, time, failures (each a dict with key, class, reason)."""

    listed: int = 0
    skipped: int = 0
    processed: int = 0
    pages: int = 0
    elapsed_s: float = 0.0
    workers: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    driver_rss_mb: float = 0.0
    worker_rss_mb: float = 0.0
    skipped_work: dict[str, float] = field(default_factory=dict)  # reused and blank (Document.skipped_work)

    @property
    def failed(self) -> int:
        """Objects that ended as failure rows."""
        return len(self.failures)

    @property
    def pages_per_s(self) -> float:
        """Pages indexed per second of the whole run."""
        return self.pages / self.elapsed_s if self.elapsed_s else 0.0

    def by_class(self) -> dict[str, int]:
        """Failures counted per error class."""
        return dict(Counter(f["error_class"] for f in self.failures).most_common())

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (``--json``)."""
        return {"listed": self.listed, "processed": self.processed, "skipped": self.skipped, "failed": self.failed,
                "pages": self.pages, "elapsed_s": round(self.elapsed_s, 2), "pages_per_s": round(self.pages_per_s, 3),
                "workers": self.workers, "failures_by_class": self.by_class(), "failures": self.failures,
                "driver_peak_rss_mb": self.driver_rss_mb, "worker_peak_rss_mb": self.worker_rss_mb,
                "skipped_work": self.skipped_work}


def run_backfill(settings: Settings, sources: list[str], keep: ListingFilter | None = None, limit: int | None = None,
                 skip_existing: bool = False, parquet: str = "", workers: int = 0,
                 progress: bool = True) -> BatchSummary:
    """List, skip what is indexed (optionally), OCR and index the rest; failures are rows, not errors."""
    started = time.monotonic()
    jobs = list_sources(sources, keep or ListingFilter(), limit)
    announce(f"listed {len(jobs):,} objects in {time.monotonic() - started:.1f} s", progress)
    skipped: list[Job] = []
    if skip_existing:
        from pipeline.sinks.opensearch import make_client, split_existing

        jobs, skipped = split_existing(make_client(settings), settings.index, jobs)
        announce(f"{len(skipped):,} already indexed, {len(jobs):,} to do", progress)
    summary = run_jobs(settings, [(j, "") for j in jobs], parquet=parquet, workers=workers, progress=progress)
    summary.listed, summary.skipped = len(jobs) + len(skipped), len(skipped)
    summary.elapsed_s = time.monotonic() - started
    return summary


def run_jobs(settings: Settings, items: list[tuple[Job, str]], parquet: str = "", workers: int = 0,
             progress: bool = True) -> BatchSummary:
    """OCR and index ``(job, tag)`` pairs on the connected Ray cluster; the tag comes back on failures."""
    from pipeline.batch.write import empty_outcome

    started = time.monotonic()
    outcome, size = empty_outcome(), 0
    if items:
        outcome, size = _execute(settings, items, parquet, workers, progress)
    if parquet and outcome["failures"]:
        from pipeline.sinks.parquet import write_rows

        write_rows(outcome["failures"], f"{parquet.rstrip('/')}/failures/{uuid.uuid4().hex[:12]}.parquet")
    return BatchSummary(listed=len(items), processed=outcome["processed"], pages=outcome["pages"],
                        elapsed_s=time.monotonic() - started, workers=size, failures=outcome["failures"],
                        driver_rss_mb=peak_rss_mb(), worker_rss_mb=outcome["worker_rss_mb"],
                        skipped_work=outcome["skipped"])


def is_small(jobs: int, limit: int) -> bool:
    """Whether a run of ``jobs`` objects goes by :func:`pipeline.batch.small.run_small` (``limit``:
    ``OCR_SMALL_JOB_OBJECTS``; 0 objects: nothing runs at all)."""
    return 0 < jobs <= limit


def _execute(settings: Settings, items: list[tuple[Job, str]], parquet: str, workers: int,
             progress: bool) -> tuple[dict[str, Any], int]:
    if is_small(len(items), settings.small_job_objects):
        return _execute_small(settings, items, parquet, workers, progress)
    import ray.data

    from pipeline.batch.write import OpenSearchDatasink

    ray.data.DataContext.get_current().enable_progress_bars = False  # ours counts pages too
    slots = workers or settings.ocr_workers
    size, cpus_each = pool_shape(slots, len(items))
    env, run_id = worker_env(), uuid.uuid4().hex[:12]
    blocks = input_blocks(len(items), small_objects(items), size)
    ds = ray.data.from_items([job_row(job, tag) for job, tag in largest_first(items, blocks)],
                             override_num_blocks=blocks)
    split_pages = settings.split_pages if pool_shape(slots, 2)[0] > 1 else 0  # one slot: nothing to spread
    batch_size = MAX_ROWS_PER_BLOCK if blocks < len(items) else 1  # several a block: fetched ahead (sources.fetch)
    ds = ds.map_batches(OcrBatch, fn_constructor_args=(settings, env, split_pages), batch_size=batch_size,
                        batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=size), num_cpus=cpus_each)
    with ProgressBar(len(items), enabled=progress) as bar:
        sink = OpenSearchDatasink(settings, parquet, run_id, progress=bar.handle, env=env)
        ds.write_datasink(sink, ray_remote_args={"num_cpus": WRITE_CPUS}, concurrency=2)
        outcome = sink.outcome
        size = _second_pass(settings, outcome, slots, size, env, run_id, parquet, bar, progress)
    return outcome, size


def _execute_small(settings: Settings, items: list[tuple[Job, str]], parquet: str, workers: int,
                   progress: bool) -> tuple[dict[str, Any], int]:
    """A few dozen objects on plain actors, written from the driver (:mod:`pipeline.batch.small`)."""
    from pipeline.batch.small import run_small
    from pipeline.batch.write import OpenSearchDatasink

    slots = workers or settings.ocr_workers
    size, cpus_each = pool_shape(slots, len(items), reserved=0.0)  # no write tasks to leave room for
    env, run_id = worker_env(), uuid.uuid4().hex[:12]
    split_pages = settings.split_pages if pool_shape(slots, 2)[0] > 1 else 0
    with ProgressBar(len(items), enabled=progress, local=True) as bar:
        sink = OpenSearchDatasink(settings, parquet, run_id, env=env)
        run_small(settings, largest_first(items, len(items)), sink, size, cpus_each, env, split_pages, bar.add)
        outcome = sink.outcome
        size = _second_pass(settings, outcome, slots, size, env, run_id, parquet, bar, progress)
    return outcome, size


def _second_pass(settings: Settings, outcome: dict[str, Any], slots: int, size: int, env: dict[str, str],
                 run_id: str, parquet: str, bar: ProgressBar, progress: bool) -> int:
    """The long documents the first pass deferred, their pages spread over the pool; the actors used."""
    from pipeline.batch.write import OpenSearchDatasink, merge_outcome

    deferred, outcome["deferred"] = outcome["deferred"], []
    if not deferred:
        return size
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    announce(f"{len(deferred):,} long documents ({sum(d['deferred_pages'] for d in deferred):,} pages) "
             "spread over the pool", progress)
    long_sink = OpenSearchDatasink(settings, parquet, run_id + "-long", progress=bar.handle, env=env)
    size = max(size, _spread(settings, deferred, slots, env, long_sink))
    merge_outcome(outcome, long_sink.outcome)
    if bar.local:
        bar.add(0, long_sink.outcome["pages"], len(long_sink.outcome["failures"]))
    return size


def _spread(settings: Settings, deferred: list[dict[str, Any]], slots: int, env: dict[str, str], sink: Any) -> int:
    """The second pass over the deferred documents' page ranges; returns the actors it used."""
    from pipeline.batch.long import range_rows, spread_long_documents

    ranges = range_rows(deferred, settings.split_pages)
    actors, cpus_each = pool_shape(slots, len(ranges))
    spread_long_documents(settings, ranges, env, actors, cpus_each, sink, WRITE_CPUS)
    return actors


def largest_first(items: list[tuple[Job, str]], blocks: int) -> list[tuple[Job, str]]:
    """The objects in hand-out order: the largest first, those of unknown size last.

    A 300-page PDF handed out last keeps one core busy for minutes while the others idle; handed
    out first, the small objects fill the other cores meanwhile (longest processing time first).
    Bytes stand in for pages, which are not known before the object is opened. Where blocks hold
    several objects, the sorted objects are dealt out to the blocks like cards (Ray Data cuts the
    rows into contiguous blocks, the first ones one row longer), so no block gets all the largest.
    """
    ordered = sorted(items, key=lambda item: -1 if item[0].size is None else item[0].size, reverse=True)
    if blocks >= len(ordered):
        return ordered
    return [item for block in range(blocks) for item in ordered[block::blocks]]


def input_blocks(jobs: int, small: int = 0, actors: int = 1) -> int:
    """Blocks of the input dataset: one object each up to 200 (the finest hand-out for a short run),
    at most ``MAX_ROWS_PER_BLOCK`` objects each beyond; ``small`` of the objects (at most
    ``SMALL_OBJECT_BYTES``) count a ``MAX_ROWS_PER_BLOCK``-th of a block each, but never fewer
    than ``BLOCKS_PER_ACTOR`` blocks for each of the ``actors``.

    An actor task OCRs a whole block before its documents go to the writers, so a fixed 200
    blocks would mean 10,000 objects a task on a 2-million-object backfill: hours between writes,
    hours redone after an interruption, and a progress bar that stands still. A block costs the
    driver, Ray's daemons and the actor ~20-35 ms of CPU whatever it holds: as much as a one-line
    scan's OCR, so small objects go in full blocks.
    """
    if jobs <= 0:
        return 1
    finest = max(200, -(-jobs // MAX_ROWS_PER_BLOCK))
    weighted = (jobs - small) + -(-small // MAX_ROWS_PER_BLOCK)
    floor = max(-(-jobs // MAX_ROWS_PER_BLOCK), min(jobs, BLOCKS_PER_ACTOR * actors))
    return max(1, min(jobs, finest, max(weighted, floor)))


def small_objects(items: list[tuple[Job, str]]) -> int:
    """How many of the objects are known to be small (``SMALL_OBJECT_BYTES`` or less)."""
    return sum(1 for job, _ in items if job.size is not None and job.size <= SMALL_OBJECT_BYTES)


def announce(line: str, enabled: bool = True) -> None:
    """A line for the person watching (stderr, beside the progress bar): a listing of millions of
    objects takes minutes before the first page, and should not look like a hang."""
    import sys

    if enabled:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def pool_shape(workers: int, jobs: int, reserved: float = RESERVED_CPUS) -> tuple[int, float]:
    """(actors, CPUs per actor): one per CPU slot (or ``workers``), sharing all but ``reserved``."""
    from pipeline.fleet.raycluster import cluster_cpus

    cpus = cluster_cpus()
    size = max(1, min(workers or cpus, jobs))
    return size, round(min(1.0, max(0.1, (cpus - reserved) / size)), 3)


def format_summary(summary: BatchSummary) -> str:
    """The table printed at the end of a run."""
    rows = [("listed", summary.listed), ("processed", summary.processed),
            ("skipped (already indexed)", summary.skipped),
            ("failed", summary.failed), ("pages", summary.pages), ("elapsed", f"{summary.elapsed_s:.1f} s"),
            ("pages/s", f"{summary.pages_per_s:.2f}"), ("OCR workers", summary.workers),
            ("peak RSS driver / worker", f"{summary.driver_rss_mb:.0f} / {summary.worker_rss_mb:.0f} MiB")]
    skipped = summary.skipped_work
    if skipped.get("reused_documents") or skipped.get("blank_pages"):
        rows += [("reused (same bytes read before)", f"{skipped['reused_documents']} objects, "
                  f"{skipped['reused_pages']} pages, {skipped['saved_seconds']:.1f} engine s saved"),
                 ("blank pages (not read)", skipped["blank_pages"])]
    rows += [(f"  failed: {cls}", n) for cls, n in summary.by_class().items()]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"  {f['error_class']}: {f['bucket']}/{f['key']}: {f['reason'][:160]}" for f in summary.failures[:20]]
    return "\n".join(lines)
