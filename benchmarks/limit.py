"""The limit: the bare warm engine, one single-threaded process per core, over the same pages.

The engine reads each page as the stage reads an upright one (:func:`engine_reading`: the first
reading in ``OCR_LANGUAGES`` and, with ``OCR_LATIN_LANGUAGE``, its Latin lines read again), so the
pipeline's ratio to it is what the pipeline adds, not a choice of what the engine does.

Each process (``spawn``) decodes every page up front, warms its engine on one page, then waits at
a barrier; after it, the processes take page numbers from one shared queue until it is empty.
pages/s = pages / wall time of that parallel part, as seen by the parent.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.corpus import BenchDoc

PageRef = tuple[str, int]  # (key, page number)


@dataclass
class LimitResult:
    """What the bare engine did: wall time, per-page engine seconds and text, peak RSS per process."""

    processes: int
    pages: int
    wall_s: float
    page_seconds: dict[PageRef, float] = field(default_factory=dict)
    page_text: dict[PageRef, str] = field(default_factory=dict)
    peak_rss_mb: list[float] = field(default_factory=list)
    decode_s_per_page: list[float] = field(default_factory=list)  # each process's, before its clock

    @property
    def pages_s(self) -> float:
        """Pages per second of the parallel part."""
        return self.pages / self.wall_s if self.wall_s > 0 else 0.0


def decoded_pages(docs: list[BenchDoc], settings: Any) -> list[tuple[PageRef, Any, int]]:
    """Every page of every document decoded (or rasterised) by the stage's own ``open``, at the
    resolution the stage's engine reads it (``OCR_MAX_READ_DPI``, ``OCR_MIN_READ_DPI``: an engine
    setting, so the bare engine gets it too), with that resolution."""
    from pipeline.engine.documents import at_read_resolution
    from pipeline.engine.stage import OcrStage, decode_page

    stage = OcrStage(settings)
    out = []
    for doc in docs:
        with stage.open(doc.data) as opened:
            for number in range(1, opened.page_count + 1):
                page_input, _ = decode_page(opened, number)
                if page_input.image is None:
                    out.append(((doc.key, number), None, 0))
                    continue
                image, dpi = at_read_resolution(page_input.image, page_input.dpi or settings.dpi,
                                                page_input.dpi_source, settings.max_read_dpi, settings.min_read_dpi)
                out.append(((doc.key, number), image.copy(), dpi))
    return out


def _worker(docs: list[BenchDoc], settings: Any, barrier: Any, tasks: Any, results: Any) -> None:
    """One limit process: decode, warm up, wait at the barrier, then OCR pages from the queue."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from pipeline.engine.ocr import get_engine

    started = time.perf_counter()
    pages = decoded_pages(docs, settings)
    results.put(("decode", None, (time.perf_counter() - started) / max(len(pages), 1), ""))
    engine = get_engine(settings.languages, settings.tessdata, vertical=settings.vertical_language,
                        orientation=False, latin=settings.latin_reader)
    engine_reading(engine, pages[0][1], settings.page_timeout_s, pages[0][2])  # warm-up page, not counted
    barrier.wait()
    while True:
        index = tasks.get()
        if index is None:
            break
        ref, image, dpi = pages[index]
        seconds, text = engine_reading(engine, image, settings.page_timeout_s, dpi)
        results.put(("page", ref, seconds, text))
    results.put(("rss", None, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, ""))


# The reading the stage gives an upright page, its geometry left out: no skew estimate, no
# orientation pass (the engine has no OSD), the first reading kept as strong whatever it reads.
BARE_READING = {"deskew_min_deg": 0.0, "deskew_max_deg": 1.0, "weak_confidence": 0.0, "rotate_min_confidence": 100.0}


def engine_reading(engine: Any, image: Any, timeout_s: float, dpi: int = 300) -> tuple[float, str]:
    """(engine seconds, text) of one page read as the stage reads an upright page in the system's
    languages: the first reading and, with a Latin reader, its Latin lines read again
    (:func:`pipeline.engine.reading.read_page` with no geometry pass), at ``dpi``."""
    from pipeline.engine.reading import GeometryOptions, read_page

    got = read_page(engine, image, dpi, timeout_s, GeometryOptions(**BARE_READING))
    return sum(got.seconds.values()), got.text


def measure_limit(docs: list[BenchDoc], processes: int, settings: Any, timeout_s: float = 3600) -> LimitResult:
    """Run the bare engine with ``processes`` processes over every page of ``docs``."""
    ctx = mp.get_context("spawn")
    n_pages = sum(d.page_count for d in docs)
    barrier, tasks, results = ctx.Barrier(processes + 1), ctx.Queue(), ctx.Queue()
    for i in range(n_pages):
        tasks.put(i)
    for _ in range(processes):
        tasks.put(None)
    procs = [ctx.Process(target=_worker, args=(docs, settings, barrier, tasks, results), daemon=True)
             for _ in range(processes)]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=timeout_s)
        started = time.perf_counter()
        out = LimitResult(processes, n_pages, 0.0)
        _collect(out, results, n_pages, processes, started, timeout_s)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return out


def _collect(out: LimitResult, results: Any, n_pages: int, processes: int, started: float, timeout_s: float) -> None:
    """Read page results (the wall time ends at the last one) and each process's peak RSS."""
    while len(out.page_seconds) < n_pages or len(out.peak_rss_mb) < processes:
        try:
            kind, ref, value, text = results.get(timeout=timeout_s)
        except queue.Empty as exc:
            raise RuntimeError("a limit process stopped answering") from exc
        if kind == "decode":
            out.decode_s_per_page.append(value)
        elif kind == "page":
            out.page_seconds[ref] = value
            out.page_text[ref] = text
            if len(out.page_seconds) == n_pages:
                out.wall_s = time.perf_counter() - started
        else:
            out.peak_rss_mb.append(round(value, 1))
