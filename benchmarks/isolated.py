"""The pipeline's own overhead, with the local stack off the OCR cores.

    python -m benchmarks.isolated [--pages 40] [--ocr-cores 1] [--dense-lines 45]

The stream service runs with ``--ocr-cores`` OCR workers pinned to that many cores, and every
other process of the run (this driver and its coordinator, moto, osmem-server, Ray's daemons)
pinned to the cores left; then a backfill of the same pages, its Ray Data OCR actors moved to
the OCR cores as they start (its wall time includes Ray Data's start-up, as in
``benchmarks.backfill``; printed beside it, its pages over the seconds from its first OCR actor's
start to its end, which leave the listing, ``ray.init`` and Ray Data's planning out, as the
stream's figure leaves its service's start-up out). The bare engine runs with as many processes pinned to the same OCR
cores, on the same pages, before and after. On AWS, S3, SQS and OpenSearch are services off the
node; this is the nearest one machine gets to that, so stream / limit here is what the pipeline
itself costs, where the harness (``python -m benchmarks``) also charges the local stack's CPU to
it. Needs at least ``--ocr-cores`` + 1 CPUs; results are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` onto ``cpus`` (a process's threads each keep their own affinity)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:  # ended meanwhile
            continue


def descendants(root: int, table: list | None = None) -> list[int]:
    """``root``'s child processes, theirs, and so on (from ``table``, or the processes now)."""
    from pipeline.fleet.procs import processes

    children: dict[int, list[int]] = {}
    for proc in processes() if table is None else table:
        children.setdefault(proc.parent, []).append(proc.pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@contextmanager
def on_cores(ocr: set[int], rest: set[int]) -> Iterator[None]:
    """This process (and what it spawns meanwhile, e.g. the bare engine's processes) on the OCR
    cores for the ``with`` block, back on the rest after it."""
    os.sched_setaffinity(0, ocr)
    try:
        yield
    finally:
        os.sched_setaffinity(0, rest)


def pinned_limit(docs: list, processes: int, settings, ocr: set[int], rest: set[int]) -> tuple[float, float]:
    """(pages/s, decode seconds a page) of the bare engine, its processes on the OCR cores (they
    inherit this affinity); it decodes every page before its clock starts."""
    from benchmarks.limit import measure_limit

    with on_cores(ocr, rest):
        result = measure_limit(docs, processes, settings)
    decode = result.decode_s_per_page
    return result.pages_s, sum(decode) / len(decode) if decode else 0.0


def pinned_stream(stack, docs: list, ocr: set[int], rest: set[int]) -> float:
    """Pages/s of the stream service, its OCR workers on the OCR cores and all else on the rest."""
    import ray

    service, _, _ = pinned_service(stack, docs, ocr, rest)
    try:
        service.run()
    finally:
        ray.shutdown()
    records = service.records
    wall = max(r["indexed_at"] for r in records) - min(r["received_at"] for r in records)
    return sum(int(r["pages"]) for r in records) / wall


def pinned_service(stack, docs: list, ocr: set[int], rest: set[int], feed_depth: int = 0) -> tuple:
    """(stream service ready to run, its settings, the event bodies left to feed) on a queue
    filled with ``docs`` (with ``feed_depth``: their events kept to feed, ``streamrun.run_fed``):
    its OCR workers pinned to the OCR cores, this process and every other under it to the rest."""
    import ray

    from benchmarks.streamrun import bench_settings, fill_queue
    from pipeline.stream.build import build_stream

    settings, bucket = bench_settings(stack, "iso")
    bodies = fill_queue(docs, bucket, settings.queue_url, feed_depth)
    service = build_stream(settings, exit_when_idle_s=2.0, num_cpus=len(ocr), keep_records=True)
    workers = {pid for pid, *_ in ray.get([s.handle.ready.remote() for s in service.pool.slots.values()])}
    for pid in [os.getpid(), *descendants(os.getpid())]:
        pin(pid, ocr if pid in workers else rest)
    return service, settings, bodies


def pinned_backfill(stack, docs: list, ocr: set[int], rest: set[int]) -> tuple[float, float]:
    """(pages/s of the whole run, pages/s from its first OCR actor's start to its end) of a backfill
    of ``docs``, its OCR actors moved onto the OCR cores as they appear."""
    clock: dict[str, float] = {}
    summary = pinned_backfill_run(stack, docs, ocr, rest, clock=clock)[0]
    return summary.pages_per_s, since_first_actor(clock, summary.pages) or 0.0


def since_first_actor(clock: dict[str, float], count: int) -> float | None:
    """``count`` (pages, objects) a second from the first OCR actor's start to the run's end, as
    :func:`pinned_backfill_run` clocked them; None when no actor was seen."""
    seconds = clock["end"] - clock.get("first_actor", clock["end"])
    return count / seconds if seconds > 0 else None


def pinned_backfill_run(stack, docs: list, ocr: set[int], rest: set[int], meter=None,
                        clock: dict[str, float] | None = None) -> tuple:
    """(backfill summary, its settings) of ``docs``, OCR actors on the OCR cores; ``meter``: a
    context manager entered around ``run_backfill`` alone (e.g. a CPU account); ``clock``, when
    given, gets ``first_actor`` (when the first OCR actor was seen) and ``end`` (monotonic s)."""
    import ray

    from benchmarks.streamrun import bench_settings, upload
    from pipeline.batch.run import run_backfill
    from pipeline.fleet.raycluster import connect

    settings, bucket = bench_settings(stack, "isob")
    upload(docs, bucket)
    connect(num_cpus=len(ocr))
    for pid in descendants(os.getpid()):
        pin(pid, rest)
    done = threading.Event()
    clock = {} if clock is None else clock
    mover = threading.Thread(target=_move_actors, args=(ocr, done, clock), name="actor-mover", daemon=True)
    mover.start()
    try:
        with meter or nullcontext():
            summary = run_backfill(settings, [f"s3://{bucket}/"], progress=False)  # a fresh bucket: all of it
        clock["end"] = time.monotonic()
    finally:
        done.set()
        mover.join(timeout=5)
        ray.shutdown()
    return summary, settings


def _move_actors(ocr: set[int], done: threading.Event, clock: dict[str, float]) -> None:
    from pipeline.fleet.procs import processes

    moved: set[int] = set()
    while not done.wait(0.05 if len(moved) < len(ocr) else 1.0):  # each scan of /proc costs this driver CPU
        table = processes()
        mine = set(descendants(os.getpid(), table)) - moved
        for proc in table:
            if proc.pid in mine and proc.title.startswith(b"ray::MapWorker"):
                pin(proc.pid, ocr)
                moved.add(proc.pid)
                clock.setdefault("first_actor", time.monotonic())


def main(argv: list[str] | None = None) -> int:
    """Limit, stream, backfill, limit again; print the ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.isolated", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="pages of the harness's corpus")
    parser.add_argument("--ocr-cores", type=int, default=1, help="cores for the OCR processes; the rest for all else")
    parser.add_argument("--dense-lines", type=int, default=0,
                        help="full A4 pages of this many lines (benchmarks.dense) instead of the harness's corpus")
    args = parser.parse_args(argv)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) <= args.ocr_cores:
        parser.error(f"needs more than {args.ocr_cores} CPUs; this machine gives {len(cores)}")
    ocr, rest = set(cores[: args.ocr_cores]), set(cores[args.ocr_cores :])

    from benchmarks.corpus import generate
    from benchmarks.dense import dense_docs
    from pipeline.devstack.stack import start_stack
    from pipeline.settings import Settings

    docs = dense_docs(args.pages, args.dense_lines) if args.dense_lines else generate(args.pages)
    stack = start_stack()
    os.sched_setaffinity(0, rest)
    for pid in descendants(os.getpid()):
        pin(pid, rest)
    try:
        before = pinned_limit(docs, args.ocr_cores, Settings(), ocr, rest)
        stream = pinned_stream(stack, docs, ocr, rest)
        batch = pinned_backfill(stack, docs, ocr, rest)
        after = pinned_limit(docs, args.ocr_cores, Settings(), ocr, rest)
    finally:
        stack.stop()
    from benchmarks.report import with_decode

    limit = (before[0] + after[0]) / 2
    decoding = with_decode(limit, args.ocr_cores, [before[1], after[1]])
    print(f"isolated: {args.pages} pages, OCR on cores {sorted(ocr)}, everything else on {sorted(rest)}")
    print(f"limit  {limit:.3f} pages/s (before {before[0]:.3f}, after {after[0]:.3f})")
    print(f"stream {stream:.3f} pages/s  ratio {stream / limit:.3f}")
    print(f"batch  {batch[0]:.3f} pages/s  ratio {batch[0] / limit:.3f} (Ray Data start-up included)")
    print(f"batch  {batch[1]:.3f} pages/s  ratio {batch[1] / limit:.3f} (from its first OCR actor's start)")
    if decoding:
        print(f"limit with decode in its loop {decoding['pages_s_with_decode']:.3f} pages/s "
              f"(decode {decoding['decode_s_per_page']:.3f} s/page); stream / that "
              f"{stream / decoding['pages_s_with_decode']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
