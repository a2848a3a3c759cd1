"""The batch backfill on the same pages: the objects under a fresh prefix, ``pipeline.batch.run.run_backfill``
on a local Ray with the same number of CPUs, then the same quality checks on its index.

Its wall time is the backfill's own ``elapsed_s`` (listing, Ray Data start-up, actors, OCR, bulk
writes), so with few pages the start-up weighs on pages/s; the summary says so.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from benchmarks.corpus import BenchDoc
from benchmarks.streamrun import bench_settings, upload
from pipeline.fleet.raycluster import connect


def measure_batch(stack: Any, docs: list[BenchDoc], cores: int, meter: Any = None) -> tuple[dict[str, Any], Any]:
    """(summary of the backfill, its settings) for ``docs`` on ``cores`` CPUs; ``meter``: a context
    manager entered around ``run_backfill`` alone (e.g. a CPU account)."""
    import ray

    from pipeline.batch.run import run_backfill

    settings, bucket = bench_settings(stack, f"b{cores}")
    upload(docs, bucket)
    connect(num_cpus=cores)
    try:
        with meter or nullcontext():
            done = run_backfill(settings, [f"s3://{bucket}/bench/"], progress=False)
    finally:
        ray.shutdown()
    summary = {
        "documents": done.processed, "pages": done.pages, "wall_s": round(done.elapsed_s, 3),
        "pages_s": round(done.pages_per_s, 4), "workers": done.workers, "failed": done.failed,
        "peak_rss_mb_per_worker": [round(done.worker_rss_mb, 1)], "peak_rss_mb_max": round(done.worker_rss_mb, 1),
        "driver_peak_rss_mb": round(done.driver_rss_mb, 1),
        "note": "wall = run_backfill elapsed_s, Ray Data start-up included",
    }
    return summary, settings
