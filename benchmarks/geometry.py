"""Pages as scanners make them, read three ways in one process, one core, page by page in turn:

- ``previous``: the engine path before page geometry (raw pixels, no resolution, one reading);
- ``resolution``: the same reading told the page's resolution (geometry off);
- ``geometry``: the stage as it runs now (resolution, skew, orientation, writing direction).

Per kind of page: CER against the known text, distinctive words read (each page's reference
number or place, company and person, found in its text with white space removed), and seconds a
page, wall and CPU (``time.process_time`` of this one-threaded process: what a page costs a core
whatever else runs beside it). The cost of geometry on upright pages is the ratio of their
pages/s (wall) and of their CPU seconds. The engine's CPU seconds vary by a few percent from one
reading of the same page to the next, so beside that ratio are the CPU seconds the geometry path
spends outside the engine's calls (``upright_cpu_s_outside_engine``), and the ink test and the
skew estimate timed alone on each upright page as the stage runs them, sharing one
:class:`~pipeline.engine.geometry.Reductions` (``upright_step_cpu_ms``, the median of 5).
Quoted in the README and ``docs/benchmarks.md``, never asserted::

    python -m benchmarks.geometry --per-kind 3 [--lines 24] [--corpus-pages 24] [--kinds mixed,rotated-270]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from benchmarks.corpus import generate
from benchmarks.report import write_summary
from benchmarks.scanned import KINDS, scanned_pages
from pipeline.engine.blank import ink_test
from pipeline.engine.documents import OpenedDocument
from pipeline.engine.geometry import Reductions, estimate_skew
from pipeline.engine.quality import character_error_rate
from pipeline.engine.stage import OcrStage
from pipeline.models import PageInput
from pipeline.settings import Settings

PATHS = ("previous", "resolution", "geometry")
STEP_REPEATS = 5


class EngineClock:
    """The stage's engine, its calls' CPU seconds added up (``cpu_s``): what a path spends beside
    them is the geometry's own. Every other attribute is the engine's."""

    TIMED = frozenset({"recognise", "read_vertical", "read_lines", "detect_orientation"})

    def __init__(self, engine) -> None:
        self._engine = engine
        self.cpu_s = 0.0

    def __getattr__(self, name: str):
        attribute = getattr(self._engine, name)
        if name not in self.TIMED:
            return attribute

        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return attribute(*args, **kwargs)
            finally:
                self.cpu_s += time.process_time() - started

        return timed


@dataclass
class Probe:
    """One page to read: its kind, the page as decoded, its known text and words."""

    kind: str
    page: PageInput
    text: str
    words: tuple[str, ...]
    twin: PageInput | None = None  # the same page before it was turned or skewed
    data: bytes = b""  # the page's document as stored, when there is one: decoded again by each stage
    number: int = 1  # the page's number in it


def stage_page(stage: OcrStage, probe: Probe) -> PageInput:
    """The probe's page as ``stage`` is handed it: decoded from its document with the stage's own
    settings (decoding reads some of them: ``OCR_DPI``, ``OCR_DROP_STAMPS``), or, for a page drawn
    in memory, a copy of it (the stage closes what it reads). Made before any clock starts."""
    if probe.data:
        with stage.open(probe.data) as opened:
            page = opened.page(probe.number)
            assert page.image is not None
            page.image = page.image.copy()
            return page
    assert probe.page.image is not None
    return PageInput(probe.page.page, image=probe.page.image.copy(), dpi=probe.page.dpi,
                     dpi_source=probe.page.dpi_source)


def probes(per_kind: int, lines: int, corpus_pages: int, seed: int) -> list[Probe]:
    """``per_kind`` scanned pages of every kind, then the harness corpus's own pages."""
    out = []
    for n in range(per_kind):
        for page in scanned_pages(seed=seed + n, lines=lines):
            twin = _decoded(page.twin)[0] if page.twin else None
            out.append(Probe(page.kind, _decoded(page.data)[0], page.text, page.words, twin, page.data))
    for doc in generate(corpus_pages, degraded=True) if corpus_pages else []:
        for number, decoded in enumerate(_decoded(doc.data), 1):
            text = doc.pages[number - 1]
            on_page = tuple(w for w in (doc.query.ja, *doc.query.en) if w in "".join(text.split()))
            out.append(Probe(f"harness-{doc.kind}", decoded, text, on_page, data=doc.data, number=number))
    return out


def read(path: str, stage: OcrStage, previous_api, probe: Probe) -> tuple[str, float, float]:
    """(text, wall seconds, CPU seconds) of one page read the way ``path`` says."""
    image = probe.page.image
    assert image is not None
    copy = stage_page(stage, probe) if path == "geometry" else None
    started, cpu = time.perf_counter(), time.process_time()
    if isinstance(stage.engine, EngineClock):
        stage.engine.cpu_s = 0.0
    if path == "previous":
        grey = image if image.mode in ("L", "RGB") else image.convert("L")
        depth = 1 if grey.mode == "L" else 3
        previous_api.SetImageBytes(grey.tobytes(), grey.width, grey.height, depth, depth * grey.width)
        previous_api.Recognize()
        text = previous_api.GetUTF8Text()
        previous_api.Clear()
    elif path == "resolution":
        text = stage.engine.recognise(image, stage.settings.page_timeout_s, probe.page.dpi).text
    else:
        assert copy is not None
        text = stage.recognise(copy).text
    return text, time.perf_counter() - started, time.process_time() - cpu


def run(args: argparse.Namespace) -> dict:
    """Read every probe three ways; the summary by kind and the upright cost."""
    import tesserocr

    settings = Settings()
    stage = OcrStage(settings)
    stage.setup()
    stage._engine = clock = EngineClock(stage.engine)  # the warm engine, its calls timed (no setter: an instrument)
    previous_api = tesserocr.PyTessBaseAPI(path=settings.tessdata, lang=settings.languages)
    kinds = set(args.kinds.split(",")) if args.kinds else None
    pages = [p for p in probes(args.per_kind, args.lines, args.corpus_pages, args.seed)
             if kinds is None or p.kind in kinds]
    paths = [p for p in PATHS if p in args.paths.split(",")]
    rows = []
    for n, probe in enumerate(pages):
        order = paths[n % len(paths):] + paths[: n % len(paths)]  # each path goes first as often as the others
        for path in order:
            text, seconds, cpu = read(path, stage, previous_api, probe)
            found = _found(probe.words, text)
            row = {"kind": probe.kind, "path": path, "seconds": seconds, "cpu_s": cpu,
                   "outside_engine_cpu_s": cpu - clock.cpu_s if path != "previous" else 0.0,
                   "cer": character_error_rate(probe.text, text), "words": len(probe.words), "found": len(found),
                   "missed": sorted(set(probe.words) - found)}
            if path == "geometry" and probe.twin is not None:
                twin = _found(probe.words, read(path, stage, previous_api, Probe(probe.kind, probe.twin, "", ()))[0])
                row |= {"twin_found": len(twin), "lost_vs_twin": len(twin - found)}
            rows.append(row)
        if _upright(probe.kind):
            rows.append({"kind": probe.kind, "path": "steps", **step_cpu(probe.page, settings.deskew_max_deg)})
        print(f"{n + 1}/{len(pages)} {probe.kind}", flush=True)
    return summarise(rows, args)


def step_cpu(page: PageInput, limit_deg: float) -> dict[str, float]:
    """CPU seconds of the ink test and of the skew estimate on one page as the stage runs them
    (one :class:`Reductions` for both), each the median of ``STEP_REPEATS``."""
    image, dpi = page.image, page.dpi or 300
    assert image is not None
    ink, skew = [], []
    for _ in range(STEP_REPEATS):
        started = time.process_time()
        reductions = Reductions(image, dpi)
        ink_test(image, dpi, reductions)
        middle = time.process_time()
        estimate_skew(image, dpi, limit_deg, reductions)
        ink.append(middle - started)
        skew.append(time.process_time() - middle)
    return {"ink_test_cpu_s": statistics.median(ink), "estimate_skew_cpu_s": statistics.median(skew)}


def _found(words: tuple[str, ...], text: str) -> set[str]:
    squashed = "".join(text.split())
    return {w for w in words if w in squashed}


def summarise(rows: list[dict], args: argparse.Namespace) -> dict:
    """Per (kind, path): pages, CER, words found (and missed), wall and CPU seconds a page; and
    pages/s and CPU seconds a page on upright pages."""
    steps = [r for r in rows if r["path"] == "steps"]
    rows = [r for r in rows if r["path"] != "steps"]
    by = tally(rows, ("kind", "path"), ("seconds", "cpu_s"))
    upright = {path: [r["seconds"] for r in rows if r["path"] == path and _upright(r["kind"])] for path in PATHS}
    rate = {path: round(len(s) / sum(s), 4) for path, s in upright.items() if s}
    upright_cpu = {path: [r["cpu_s"] for r in rows if r["path"] == path and _upright(r["kind"])] for path in PATHS}
    cpu = {path: round(sum(s) / len(s), 4) for path, s in upright_cpu.items() if s}
    outside = {path: round(statistics.mean(r["outside_engine_cpu_s"] for r in rows
                                           if r["path"] == path and _upright(r["kind"])), 4)
               for path in ("resolution", "geometry") if path in cpu}
    groups = {name: _words(rows, name) for name in ("rotated", "skewed", "vertical", "mixed")}
    return {
        "command": f"python -m benchmarks.geometry --per-kind {args.per_kind} --lines {args.lines} "
                   f"--corpus-pages {args.corpus_pages} --seed {args.seed} --paths {args.paths}"
                   + (f" --kinds {args.kinds}" if args.kinds else ""),
        "by_kind": by, "upright_pages_per_s": rate, "upright_cpu_s_per_page": cpu,
        "upright_cost_vs_previous": _cost(rate, "previous"),
        "upright_cost_vs_resolution": _cost(rate, "resolution"),
        "upright_cpu_cost_vs_resolution": round(cpu["geometry"] / cpu["resolution"] - 1, 4)
        if "geometry" in cpu and "resolution" in cpu else None,
        "upright_cpu_s_outside_engine": outside,
        "upright_outside_engine_share": round(outside["geometry"] / cpu["resolution"], 4)
        if "geometry" in outside and "resolution" in cpu else None,
        "upright_step_cpu_ms": _steps_ms(steps),
        "words_found": groups,
    }


def tally(rows: list[dict], keys: tuple[str, ...], clocks: tuple[str, ...], rate: str = "") -> dict:
    """The benchmarks' one tally of readings: ``rows`` grouped by the values of ``keys`` (one level
    of nested dicts a key, in the order the values first appear), each cell holding its pages,
    mean CER, words found of words and those missed, and each of ``clocks`` as seconds a page;
    with ``rate`` (one of ``clocks``), also pages a second of it. Each row holds ``cer``,
    ``found``, ``words``, ``missed`` and the ``clocks``."""
    out: dict = {}
    cells = []
    for row in rows:
        node = out
        for key in keys[:-1]:
            node = node.setdefault(row[key], {})
        if row[keys[-1]] not in node:
            node[row[keys[-1]]] = {"pages": 0, "cer": 0.0, "found": 0, "words": 0, **dict.fromkeys(clocks, 0.0),
                                   "missed": []}
            cells.append(node[row[keys[-1]]])
        cell = node[row[keys[-1]]]
        cell["pages"] += 1
        for name in ("cer", "found", "words", *clocks):
            cell[name] += row[name]
        cell["missed"] += row["missed"]
    for cell in cells:
        if rate:
            cell["pages_per_s"] = round(cell["pages"] / cell[rate], 4)
        cell["cer"] = round(cell["cer"] / cell["pages"], 4)
        for name in clocks:
            cell[name] = round(cell[name] / cell["pages"], 3)
    return out


def _steps_ms(steps: list[dict]) -> dict[str, float]:
    """Mean over the upright pages of each step's CPU milliseconds, and of both."""
    if not steps:
        return {}
    ink = 1000 * statistics.mean(r["ink_test_cpu_s"] for r in steps)
    skew = 1000 * statistics.mean(r["estimate_skew_cpu_s"] for r in steps)
    return {"pages": len(steps), "ink_test": round(ink, 2), "estimate_skew": round(skew, 2),
            "both": round(ink + skew, 2)}


def _cost(rate: dict[str, float], against: str) -> float | None:
    """1 - geometry's pages/s over ``against``'s, on upright pages (None when either was not run)."""
    return round(1 - rate["geometry"] / rate[against], 4) if "geometry" in rate and against in rate else None


def table(summary: dict) -> str:
    """A Markdown table: one row per kind, CER / words found / s a page for each path."""
    paths = [p for p in PATHS if any(p in cells for cells in summary["by_kind"].values())]
    head = "| kind | " + " | ".join(f"{p} CER | {p} words | {p} s | {p} CPU s" for p in paths) + " |"
    lines = [head, "|" + "---|" * (1 + 4 * len(paths))]
    for kind, cells in summary["by_kind"].items():
        parts = []
        for path in paths:
            c = cells[path]
            parts += [f"{100 * c['cer']:.1f}%", f"{c['found']}/{c['words']}", f"{c['seconds']:.2f}",
                      f"{c['cpu_s']:.2f}"]
        lines.append(f"| {kind} | " + " | ".join(parts) + " |")
    lines += ["", f"upright pages/s: {summary['upright_pages_per_s']}; CPU s a page: "
                  f"{summary['upright_cpu_s_per_page']}; geometry's cost against previous: "
                  f"{summary['upright_cost_vs_previous']}, against resolution alone: "
                  f"{summary['upright_cost_vs_resolution']}; CPU cost against resolution alone: "
                  f"{summary['upright_cpu_cost_vs_resolution']}",
              f"upright CPU s a page outside the engine: {summary['upright_cpu_s_outside_engine']} "
              f"(geometry's share of a bare reading: {summary['upright_outside_engine_share']}); "
              f"the steps alone, CPU ms a page: {summary['upright_step_cpu_ms']}"]
    found = ", ".join(f"{k} {v['found']}/{v['words']}" + (f" (upright twins {v['twin_found']}, lost against them "
                                                          f"{v['lost_vs_twin']})" if "twin_found" in v else "")
                      for k, v in summary["words_found"].items())
    lines.append(f"distinctive words read (geometry): {found}")
    return "\n".join(lines)


def _words(rows: list[dict], group: str) -> dict[str, int]:
    """Words found on the group's pages; for turned and skewed ones also on their upright twins,
    and how many the twin gave that the page did not (what the geometry lost)."""
    chosen = [r for r in rows if r["path"] == "geometry" and r["kind"].startswith(group)]
    out = {"found": sum(r["found"] for r in chosen), "words": sum(r["words"] for r in chosen)}
    if any("twin_found" in r for r in chosen):
        out |= {"twin_found": sum(r.get("twin_found", 0) for r in chosen),
                "lost_vs_twin": sum(r.get("lost_vs_twin", 0) for r in chosen)}
    return out


def _upright(kind: str) -> bool:
    """Horizontal pages neither turned nor skewed (the harness's 2-degree scan is skewed)."""
    return kind.startswith("upright") or (kind.startswith("harness-") and kind != "harness-degraded-skew")


def _decoded(data: bytes) -> list[PageInput]:
    """Every page of a document, decoded as the stage would, kept in memory."""
    pages = []
    with OpenedDocument(data, 120_000_000, 100, 300) as opened:
        for number in range(1, opened.page_count + 1):
            page = opened.page(number)
            assert isinstance(page.image, Image.Image)
            page.image = page.image.convert("L") if page.image.mode not in ("L", "RGB") else page.image.copy()
            pages.append(page)
    return pages


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.geometry``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.geometry", description=__doc__)
    parser.add_argument("--per-kind", type=int, default=3, help=f"pages of each kind ({len(KINDS)} kinds)")
    parser.add_argument("--lines", type=int, default=24, help="lines of body text on a scanned page")
    parser.add_argument("--corpus-pages", type=int, default=24, help="pages of the harness corpus too (0: none)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated: previous,resolution,geometry")
    parser.add_argument("--kinds", default="", help="comma-separated kinds to read (default: all), e.g. mixed")
    parser.add_argument("--out", type=Path, default=Path("out/geometry.json"))
    args = parser.parse_args(argv)
    summary = run(args)
    write_summary(summary, args.out)
    print(table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
