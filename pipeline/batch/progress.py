"""The backfill's progress bar: objects and pages per second while it runs.

Ray Data's own bars count rows per operator but know nothing of pages, so the write tasks report
each finished bundle to a tiny counter actor and a driver thread draws one line from it (redrawn in
place on a terminal, a line every ``every_s`` seconds otherwise, e.g. under ``ray job submit``).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO


class Counter:
    """A Ray actor (``num_cpus=0``) that sums what the write tasks report."""

    def __init__(self) -> None:
        self.objects = 0
        self.pages = 0
        self.failed = 0

    def add(self, objects: int, pages: int, failed: int) -> None:
        """Count one written bundle."""
        self.objects += objects
        self.pages += pages
        self.failed += failed

    def totals(self) -> tuple[int, int, int]:
        """(objects, pages, failed) so far."""
        return self.objects, self.pages, self.failed


class ProgressBar:
    """Context manager: starts the counter actor and a drawing thread; ``handle`` goes to the sink."""

    def __init__(self, total: int, enabled: bool = True, stream: TextIO = sys.stderr, every_s: float = 0.5,
                 local: bool = False) -> None:
        self.total = total
        self.enabled = enabled
        self.local = local  # counted here (:meth:`add`) by a driver that sees every result: no actor
        self._counted = Counter()
        self.stream = stream
        self.every_s = every_s if stream.isatty() else max(every_s, 10.0)
        self.handle: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            if not self.local:
                import ray

                self.handle = ray.remote(num_cpus=0)(Counter).remote()
            self._thread = threading.Thread(target=self._loop, name="backfill-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._draw(final=True)

    def add(self, objects: int, pages: int, failed: int) -> None:
        """Count written objects here (a ``local`` bar)."""
        self._counted.add(objects, pages, failed)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._draw()

    def _draw(self, final: bool = False) -> None:
        if self.local:
            objects, pages, failed = self._counted.totals()
        else:
            import ray

            try:
                objects, pages, failed = ray.get(self.handle.totals.remote(), timeout=5)
            except Exception:  # a missed redraw is harmless
                return
        elapsed = max(time.monotonic() - self._started, 1e-6)
        line = render(objects, self.total, pages, failed, elapsed)
        end = "\n" if final or not self.stream.isatty() else ""
        self.stream.write(("\r" if self.stream.isatty() else "") + line + end)
        self.stream.flush()


def render(objects: int, total: int, pages: int, failed: int, elapsed_s: float) -> str:
    """One progress line: a bar, objects and pages with their rates, failures."""
    share = objects / total if total else 1.0
    bar = "#" * int(share * 30)
    return (f"[{bar:<30}] {objects}/{total} objects {objects / elapsed_s:.1f}/s | "
            f"{pages} pages {pages / elapsed_s:.1f}/s | {failed} failed | {elapsed_s:.0f} s")
