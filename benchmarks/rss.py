"""Peak resident memory of the Ray OCR worker processes, sampled in a thread during a run.

Only descendants of this process count (the local Ray this run started), never the workers of
another Ray on the same machine.
"""

from __future__ import annotations

import os
import threading

import psutil

WORKER_MARK = "OcrWorker"  # Ray titles actor processes ``ray::OcrWorker`` (``ray::OcrWorker.start`` while busy)


class RssSampler:
    """Samples every ``interval_s``; ``peaks_mb`` maps pid -> the highest RSS seen, in MiB."""

    def __init__(self, interval_s: float = 0.25, mark: str = WORKER_MARK) -> None:
        self.interval_s = interval_s
        self.mark = mark
        self.peaks_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        """One pass over this process's descendants."""
        for proc in psutil.Process(os.getpid()).children(recursive=True):
            try:
                title = " ".join(proc.cmdline()) or proc.name()
                if self.mark not in title:
                    continue
                rss = proc.memory_info().rss / 2**20
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            self.peaks_mb[proc.pid] = max(self.peaks_mb.get(proc.pid, 0.0), rss)
