"""What one Ray actor call costs per object, beside the work it carries (issue #17).

    python -m benchmarks.raycall [--items 400] [--batch 8] [--in-flight 2]

A threaded actor (``max_concurrency`` 2, as the stream's ``OcrWorker``) that does no work: each
call takes :class:`~pipeline.models.Job` values and gives back a one-page
:class:`~pipeline.models.Document` per job (a one-line object's record, as the stream's workers
return it). The driver drives it as ``WorkerPool`` does (``--in-flight`` calls out, ``ray.wait``
for one, then for every other that has ended, ``ray.get`` each), first one job a call, then
``--batch`` jobs a call (a list back), then ``--batch`` jobs a streaming-generator call (each
document back as it is made). For each, and for an idle spell as long as the slower of the two (Ray's
own background threads), the CPU of the driver, of the actor's process and of Ray's daemons is
read from ``/proc`` (``benchmarks.cpuaccount.cpu_seconds``), in ms per object, the idle rate taken
off. Printed; never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


class Echo:
    """An actor that does no work: a document back for each job it is given."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc

    def pid(self) -> int:
        """This actor's process id."""
        return os.getpid()

    def one(self, job: Any) -> Any:
        """One job's document."""
        return replace(self.doc, key=job.key)

    def many(self, jobs: list[Any]) -> list[Any]:
        """A document for each job, in order."""
        return [replace(self.doc, key=job.key) for job in jobs]

    def each(self, jobs: list[Any]) -> Any:
        """A document for each job, yielded as it is made (a streaming generator call)."""
        for job in jobs:
            yield replace(self.doc, key=job.key)


def sample_document() -> Any:
    """A one-line object's record as a stream worker returns it (one page, its timings)."""
    from pipeline.models import Document, PageResult

    page = PageResult(1, "東京商事 10001", 91.5, "ocr", decode_s=0.001, ocr_s=0.02, clean_s=0.0001, width=600,
                      height=120, dpi=300, dpi_source="setting", geometry_timings={"skew_s": 0.001, "ink_s": 0.0001})
    return Document(doc_id="0" * 64, bucket="bench", key="k", version_id="", etag="e" * 32, size=9000,
                    content_type="image/png", page_count=1, text=page.text, pages=[page], engine="tesseract 5.3.0",
                    languages="jpn+eng (ab12)", timings={"fetch_s": 0.01, "ocr_s": 0.02, "process_s": 0.03},
                    processed_at="2026-12-02T08:00:00+00:00", sha256="f" * 64, reading="0123456789abcdef")


def drive(submit: Any, calls: list[Any], in_flight: int) -> None:
    """Make every call, ``in_flight`` at a time, collecting results as ``WorkerPool.poll`` does."""
    import ray

    def take(ref: Any, out: list[Any]) -> None:
        out.remove(ref)
        ray.get(ref)

    _drive(submit, calls, in_flight, take)


def drive_streamed(submit: Any, calls: list[Any], in_flight: int) -> None:
    """As :func:`drive`, each call a streaming generator whose items are taken as they come."""
    import ray

    def take(gen: Any, out: list[Any]) -> None:
        try:
            ray.get(next(gen))
        except StopIteration:
            out.remove(gen)

    _drive(submit, calls, in_flight, take)


def _drive(submit: Any, calls: list[Any], in_flight: int, take: Any) -> None:
    import ray

    todo, out = list(calls), []
    while todo or out:
        while todo and len(out) < in_flight:
            out.append(submit(todo.pop()))
        first, _ = ray.wait(out, num_returns=1, timeout=0.05)
        ready = ray.wait(out, num_returns=len(out), timeout=0)[0] if first else []
        for ref in dict.fromkeys(first + ready):
            take(ref, out)


def cpu_by_part(actor_pid: int) -> dict[str, float]:
    """CPU seconds so far of this driver, the actor's process and the rest of Ray's processes."""
    from benchmarks.cpuaccount import cpu_seconds
    from benchmarks.isolated import descendants

    parts = {"driver": cpu_seconds(os.getpid()) or 0.0, "actor": cpu_seconds(actor_pid) or 0.0, "ray daemons": 0.0}
    for pid in descendants(os.getpid()):
        if pid != actor_pid:
            parts["ray daemons"] += cpu_seconds(pid) or 0.0
    return parts


def measured(actor_pid: int, run: Any) -> tuple[dict[str, float], float]:
    """(CPU seconds by part, wall seconds) of ``run()``."""
    before, started = cpu_by_part(actor_pid), time.perf_counter()
    run()
    after = cpu_by_part(actor_pid)
    return {k: after[k] - before[k] for k in after}, time.perf_counter() - started


def per_object(cpu: dict[str, float], wall: float, idle: dict[str, float], idle_wall: float,
               objects: int) -> dict[str, float]:
    """ms of CPU per object by part, each part's idle rate over the same wall time taken off."""
    out = {k: round(1000 * (v - idle[k] * wall / idle_wall) / objects, 3) for k, v in cpu.items()}
    out["total"] = round(sum(out.values()), 3)
    return out


def run(items: int, batch: int, in_flight: int) -> dict[str, Any]:
    """The three spells (one job a call, ``batch`` a call, idle) and their per-object figures."""
    import ray

    from pipeline.models import Job

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    try:
        actor = ray.remote(num_cpus=1, max_concurrency=2)(Echo).remote(sample_document())
        pid = ray.get(actor.pid.remote())
        jobs = [Job("bench", f"line/{i:06d}.png", etag="e" * 32, size=9000) for i in range(items)]
        drive(actor.one.remote, jobs[:50], in_flight)  # warm both paths first
        drive(actor.many.remote, [jobs[:batch]] * 5, in_flight)
        single, single_wall = measured(pid, lambda: drive(actor.one.remote, jobs, in_flight))
        chunks = [jobs[i:i + batch] for i in range(0, items, batch)]
        batched, batched_wall = measured(pid, lambda: drive(actor.many.remote, chunks, in_flight))
        drive_streamed(actor.each.remote, [jobs[:batch]] * 5, in_flight)
        streamed, streamed_wall = measured(pid, lambda: drive_streamed(actor.each.remote, chunks, in_flight))
        idle, idle_wall = measured(pid, lambda: time.sleep(max(single_wall, batched_wall, streamed_wall, 2.0)))
    finally:
        ray.shutdown()
    return {"items": items, "batch": batch, "in_flight": in_flight,
            "single": per_object(single, single_wall, idle, idle_wall, items),
            "batched": per_object(batched, batched_wall, idle, idle_wall, items),
            "streamed": per_object(streamed, streamed_wall, idle, idle_wall, items),
            "wall_s": {"single": round(single_wall, 3), "batched": round(batched_wall, 3),
                       "streamed": round(streamed_wall, 3), "idle": round(idle_wall, 3)}}


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.raycall", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400, help="objects (jobs) carried in each spell")
    parser.add_argument("--batch", type=int, default=8, help="jobs a call in the batched spell")
    parser.add_argument("--in-flight", type=int, default=2, help="calls out at a time (the pool's per worker)")
    args = parser.parse_args(argv)
    result = run(args.items, args.batch, args.in_flight)
    print(f"raycall: {args.items} objects, {args.in_flight} calls in flight; CPU ms per object, idle rate taken off")
    print(f"{'':<12} {'driver':>8} {'actor':>8} {'ray daemons':>12} {'total':>8}  wall s")
    labels = {"single": "1 a call", "batched": f"{args.batch} a call", "streamed": f"{args.batch} streamed"}
    for name, label in labels.items():
        ms = result[name]
        print(f"{label:<12} {ms['driver']:>8.3f} {ms['actor']:>8.3f} {ms['ray daemons']:>12.3f} {ms['total']:>8.3f}"
              f"  {result['wall_s'][name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
