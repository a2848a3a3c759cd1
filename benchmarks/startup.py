"""Where a backfill's first seconds go: a timeline from process start to the first OCRed page.

    python -m benchmarks.startup DIR [--ray-data]     # with the local stack's OCR_OPENSEARCH_URL set

Runs what ``ocr-cluster backfill DIR --no-progress`` runs (``pipeline.commands.batch._backfill``'s
calls, in this process) with marks: the interpreter up, the CLI imported and its parser built, the
batch modules and Ray imported, ``ray.init`` (a local Ray), the listing, Ray Data's ``from_items``
(only on the Ray Data path: ``--ray-data`` sets ``OCR_SMALL_JOB_OBJECTS=0``), each OCR actor's
construction (its engine loaded: jpn+eng; ``jpn_vert`` and ``osd`` load on a page that needs
them) and its first call (the first object OCRed), the end of the run and ``ray.shutdown``.
Seconds from the process's start as the kernel records it; the actors' with their CPU seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"


def process_start() -> float:
    """This process's start, as a ``time.time()`` value (``/proc/self/stat`` field 22)."""
    with open("/proc/self/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


def main(argv: list[str] | None = None) -> int:
    """Run the backfill with marks and print the timeline."""
    start = process_start()
    marks = [("interpreter up", time.time())]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--ray-data", action="store_true", help="the Ray Data path (OCR_SMALL_JOB_OBJECTS=0)")
    opts = parser.parse_args(argv)
    if opts.ray_data:
        os.environ["OCR_SMALL_JOB_OBJECTS"] = "0"
    log = Path(tempfile.mkdtemp(prefix="startup-")) / "actors.txt"
    log.touch()

    import pipeline.cli

    args = pipeline.cli.build_parser().parse_args(["backfill", opts.directory, "--no-progress"])
    marks.append(("CLI imported, parser", time.time()))
    import pipeline.batch.run as run
    import pipeline.batch.small as small

    marks.append(("batch modules imported", time.time()))
    traced = _traced(small.OcrBatchActor, str(log))
    run.OcrBatch, small.OcrBatchActor = traced, traced
    import ray

    marks.append(("ray imported", time.time()))
    from pipeline.fleet.raycluster import connect

    connect(args.address, args.cpus)
    marks.append(("ray.init", time.time()))
    listing = run.list_sources

    def list_sources(*a):
        jobs = listing(*a)
        marks.append(("listed", time.time()))
        return jobs

    run.list_sources = list_sources
    if opts.ray_data:
        import ray.data

        from_items = ray.data.from_items

        def traced_from_items(*a, **k):
            marks.append(("ray.data imported, rows", time.time()))
            ds = from_items(*a, **k)
            marks.append(("from_items", time.time()))
            return ds

        ray.data.from_items = traced_from_items
    from pipeline.settings import load_settings

    summary = run.run_backfill(load_settings(args.env_file), [opts.directory], progress=False)
    marks.append(("run done", time.time()))
    ray.shutdown()
    marks.append(("ray.shutdown", time.time()))
    rows = [(name, t) for name, t in marks]
    for line in log.read_text().splitlines():
        pid, what, began, ended, cpu = line.split()
        rows.append((f"actor {pid} {what} (cpu {float(cpu):.2f} s) from {float(began) - start:6.2f}", float(ended)))
    print(f"{'process start':<52} {0:7.2f}")
    for name, t in sorted(rows, key=lambda r: r[1]):
        print(f"{name:<52} {t - start:7.2f}")
    path = "ray data" if opts.ray_data else "small job"
    print(f"pages {summary.pages}, run_backfill {summary.elapsed_s:.2f} s, path {path}")
    return 0


def _traced(base: type, log: str) -> type:
    """``base`` with its construction and first call written to ``log`` (pid, what, start, end, CPU s)."""

    class Traced(base):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **k):
            began, cpu = time.time(), time.process_time()
            super().__init__(*a, **k)
            self._note("init", began, cpu)
            self._first = True

        def __call__(self, batch):
            began, cpu = time.time(), time.process_time()
            out = super().__call__(batch)
            if self._first:
                self._first = False
                self._note("first", began, cpu)
            return out

        def _note(self, what: str, began: float, cpu: float) -> None:
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {what} {began} {time.time()} {time.process_time() - cpu}\n")

    Traced.__name__ = Traced.__qualname__ = "OcrBatchTraced"
    return Traced


if __name__ == "__main__":
    sys.exit(main())
