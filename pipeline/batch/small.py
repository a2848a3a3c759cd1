"""Small jobs: a few dozen objects OCRed by plain Ray actors, without Ray Data's machinery.

A backfill of a few dozen pages spent as much CPU around its pages as on them (issue #16: 24 A4
pages on a 2-core machine, 2026-12-02: ~50 CPU s of OCR, ~40 CPU s besides). Much of that was Ray
Data's, which a short run does not need: the driver's streaming executor loop, its stats and
autoscaling-coordinator actors and the write tasks' worker processes, each a Python process
importing Ray. Up to ``OCR_SMALL_JOB_OBJECTS`` objects (default 64: a run of minutes at most on
one node), :func:`run_small` instead starts one actor per CPU slot (the same
:class:`~pipeline.batch.actors.OcrBatch`: same stage, same failure rows), hands the objects out
one at a time largest first (two in flight per actor, so the next object is there when one ends),
and writes the results from the driver with the same datasink code (bulk, every item's answer
read, Parquet parts) every ``min_rows`` objects. Long documents the actors defer still go to the
Ray Data second pass (:mod:`pipeline.batch.long`).

What stays as in the Ray Data path: failures are rows, an actor that dies is restarted and its
object retried (``max_restarts``/``max_task_retries`` -1, Ray Data's own defaults for an actor
pool), the index is created before the first write, and Ray's token authentication (the cluster's
``RAY_AUTH_MODE``) is untouched: this is the same Ray, fewer processes in it."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from pipeline.batch.actors import OcrBatch, job_row
from pipeline.models import Job
from pipeline.settings import Settings

IN_FLIGHT = 2  # objects queued on each actor: one read, the next waiting (no round trip between)


class OcrBatchActor(OcrBatch):
    """:class:`OcrBatch` as a plain actor (``read``: one table of job rows in, result rows out)."""

    def read(self, batch: Any) -> Any:
        """The result rows of ``batch``."""
        return self(batch)


def run_small(settings: Settings, items: list[tuple[Job, str]], sink: Any, size: int, cpus_each: float,
              env: dict[str, str], split_pages: int, on_written: Callable[[int, int, int], None] | None = None) -> None:
    """OCR ``items`` (already in hand-out order) on ``size`` actors; every result goes through
    ``sink.write`` on the driver, whose outcome gathers in ``sink.outcome``; ``on_written``
    (objects, pages, failed) after each write, for the progress line."""
    import pyarrow as pa
    import ray

    from pipeline.batch.write import merge_outcome

    remote = ray.remote(OcrBatchActor).options(num_cpus=cpus_each, max_restarts=-1, max_task_retries=-1)
    actors = [remote.remote(settings, env, split_pages) for _ in range(size)]  # engines load meanwhile
    try:
        sink.on_write_start()
        queue = [pa.Table.from_pylist([job_row(job, tag)]) for job, tag in items]
        queue.reverse()  # pop() from the end: the largest first
        pending: dict[Any, Any] = {}
        for actor in actors:
            for _ in range(IN_FLIGHT):
                if queue:
                    pending[actor.read.remote(queue.pop())] = actor
        done: list[Any] = []
        writes = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(ready[0])
            done.append(ray.get(ready[0]))
            if queue:
                pending[actor.read.remote(queue.pop())] = actor
            if len(done) >= sink.min_rows_per_write or not pending:
                part = sink.write(done, SimpleNamespace(task_idx=writes))
                merge_outcome(sink.outcome, part)
                if on_written is not None:
                    on_written(sum(t.num_rows for t in done), part["pages"], len(part["failures"]))
                done, writes = [], writes + 1
    finally:
        for actor in actors:
            ray.kill(actor)
