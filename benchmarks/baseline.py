"""The seed-style baseline: one process calling the Tesseract command line per page, with
Tesseract's default threading (``OMP_THREAD_LIMIT`` removed from the child's environment), one
message at a time. It is slow, so it runs on a few pages only, and the summary says how many.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.limit import PageRef


@dataclass
class BaselineResult:
    """Wall seconds and text per page of the command-line baseline."""

    pages: int
    wall_s: float
    page_seconds: dict[PageRef, float] = field(default_factory=dict)
    page_text: dict[PageRef, str] = field(default_factory=dict)

    @property
    def pages_s(self) -> float:
        """Pages per second, one page after the other."""
        return self.pages / self.wall_s if self.wall_s > 0 else 0.0


def measure_baseline(pages: list[tuple[PageRef, Any, int]], settings: Any, timeout_s: float = 600) -> BaselineResult:
    """``tesseract PAGE.png stdout -l LANGS`` for each (ref, image, read DPI), timed one after the other."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    out = BaselineResult(len(pages), 0.0)
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        files = []
        for i, (ref, image, dpi) in enumerate(pages):
            path = Path(tmp) / f"page-{i}.png"
            image.save(path, dpi=(dpi, dpi))  # the CLI reads the resolution from the file
            files.append((ref, path))
        started = time.perf_counter()
        for ref, path in files:
            t0 = time.perf_counter()
            done = subprocess.run(
                ["tesseract", str(path), "stdout", "-l", settings.languages, "--tessdata-dir", settings.tessdata],
                capture_output=True, text=True, env=env, timeout=timeout_s, check=True,
            )
            out.page_seconds[ref] = time.perf_counter() - t0
            out.page_text[ref] = done.stdout
        out.wall_s = time.perf_counter() - started
    return out
