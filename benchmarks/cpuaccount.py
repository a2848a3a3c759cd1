"""CPU seconds by process group over one run, read from ``/proc`` (as docs/batch.md's accounts).

A thread samples every ``interval_s`` the CPU time (user + system) of this process and of every
process under it (Ray's daemons and workers, moto, osmem-server) and charges each interval's
increase to the group the process's title names *at that moment*: a Ray worker process that runs
a write task, then idles, then runs another, is charged to "write tasks" only while it is one.
The benchmark's own threads in this process (``BENCH_THREADS``: this sampler, the RSS sampler, the
queue feeder, the actor pinner) are taken off the driver's share, so "driver" is the pipeline's
coordinator and Ray's threads in it. A process that starts and ends between two samples is
missed; Ray keeps its workers (60 s idle), so few are.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
GROUPS = ("driver", "ocr actors", "write tasks", "ray data actors", "ray daemons", "local stack")
OCR_TITLES = (b"ray::OcrWorker", b"ray::MapWorker", b"ray::OcrBatch", b"ray::OcrRange")
STACK_TITLES = (b"moto.server", b"osmem")
BENCH_THREADS = ("cpu-account", "rss-sampler", "shallow-feed", "paced-uploader", "actor-mover", "stack-cpu")


def group_of(pid: int, title: bytes, driver: int) -> str:
    """The group a process belongs to, from its pid and the title Ray (or its command line) gives it."""
    if pid == driver:
        return "driver"
    if title.startswith(OCR_TITLES):
        return "ocr actors"
    if title.startswith(b"ray::") and b"Write" in title:
        return "write tasks"
    if any(mark in title for mark in STACK_TITLES):
        return "local stack"
    if title.startswith(b"ray::") and not title.startswith(b"ray::IDLE"):
        return "ray data actors"
    return "ray daemons"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (all its threads), None if it has ended."""
    return cpu_seconds_of(f"/proc/{pid}/stat")


def bench_threads_cpu() -> dict[int, float]:
    """CPU seconds of each of this process's benchmark threads (``BENCH_THREADS``), by native id."""
    out = {}
    for thread in threading.enumerate():
        if thread.name in BENCH_THREADS and thread.native_id is not None:
            seconds = cpu_seconds_of(f"/proc/self/task/{thread.native_id}/stat")
            if seconds is not None:
                out[thread.native_id] = seconds
    return out


def cpu_seconds_of(path: str) -> float | None:
    """User + system CPU seconds in a ``/proc`` stat file, None if it is gone."""
    try:
        stat = Path(path).read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuAccount:
    """``with CpuAccount() as acct: ...``; then ``acct.seconds`` maps group -> CPU seconds."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.driver = os.getpid()
        self.seconds: dict[str, float] = dict.fromkeys(GROUPS, 0.0)
        self.titles: dict[bytes, float] = {}
        self.wall_s = 0.0
        self._last: dict[int, float] = {}
        self._own_last: dict[int, float] = {}  # the benchmark threads' CPU at the last sample
        self._own_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-account", daemon=True)

    def __enter__(self) -> CpuAccount:
        self._started = time.perf_counter()
        self._sample(charge=False)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._sample()
        self.seconds["driver"] = max(0.0, self.seconds["driver"] - self._own_s)
        self.wall_s = time.perf_counter() - self._started

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self, charge: bool = True) -> None:
        from benchmarks.isolated import descendants
        from pipeline.fleet.procs import processes

        for tid, now in bench_threads_cpu().items():  # a thread new since the last sample: all of it
            self._own_s += now - self._own_last.get(tid, 0.0 if charge else now)
            self._own_last[tid] = now
        table = processes()
        titles = {p.pid: p.title for p in table}
        for pid in [self.driver, *descendants(self.driver, table)]:
            now = cpu_seconds(pid)
            if now is None:
                continue
            delta = now - self._last.get(pid, 0.0 if charge else now)
            self._last[pid] = now
            if charge and delta > 0:
                title = titles.get(pid, b"")
                self.seconds[group_of(pid, title, self.driver)] += delta
                name = title.split(b"\0")[0][:60]
                self.titles[name] = self.titles.get(name, 0.0) + delta

    def top_titles(self, count: int = 12) -> dict[str, float]:
        """CPU seconds of the busiest process titles (what a group is made of)."""
        top = sorted(self.titles.items(), key=lambda kv: -kv[1])[:count]
        return {title.decode(errors="replace"): round(seconds, 2) for title, seconds in top}

    def per_object_ms(self, objects: int) -> dict[str, float]:
        """Milliseconds of CPU per object in each group, and their total."""
        out = {g: round(1000 * s / max(1, objects), 2) for g, s in self.seconds.items()}
        out["total"] = round(sum(out.values()), 2)
        return out
