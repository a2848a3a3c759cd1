"""Every figure of issue #16 in one run, one command: engine settings, the pipeline against the
engine (isolated and shared), a small job against OCRmyPDF, the work not done.

    python -m benchmarks.fullreport [--pages 200] [--quick] [--only engine,isolated,...]

Each section is its own benchmark, run as a subprocess one after the other on this machine (each
starts and stops its own local stack), its output printed under its heading as it ends:

- ``engine``: :mod:`benchmarks.engine_settings`, Tesseract's defaults against the adopted
  settings (pages/s of one core, CER and words found, per kind of page);
- ``isolated``: :mod:`benchmarks.isolated`, the stream and the backfill against the bare engine,
  the local stack, driver and Ray's daemons off the OCR cores (the ratio to quote);
- ``shared``: ``python -m benchmarks`` on the same number of pages, every process on every core;
- ``smalljob``: :mod:`benchmarks.smalljob`, a 24-page ``ocr-cluster backfill DIR`` against
  OCRmyPDF ``-j N`` when OCRmyPDF has its own environment (``scripts/ocrmypdf-env.sh``);
- ``skipped``: :mod:`benchmarks.reuse`, objects and pages skipped as duplicates or blank.

The whole report is also written to ``--out`` (``out/bench/fullreport.txt``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

SECTIONS = ("engine", "isolated", "shared", "smalljob", "skipped")
TITLES = {
    "engine": "Engine settings: Tesseract's defaults against the adopted ones (one core, CPU time)",
    "isolated": "Stream and backfill against the bare engine, isolated (the ratio to quote)",
    "shared": "Stream and backfill against the bare engine, every process on every core",
    "smalljob": "A small backfill against OCRmyPDF, whole command against whole command",
    "skipped": "Work not done: objects and pages skipped as duplicates or blank",
}
PROGRESS = re.compile(r"^\d+/\d+ ")  # engine_settings' page counter


def commands(pages: int, quick: bool, ocr_cores: int) -> dict[str, list[str]]:
    """Each section's command line (``python -m ...``), sized for ``pages`` (``quick``: tiny)."""
    py = [sys.executable, "-m"]
    if quick:
        return {
            "engine": [*py, "benchmarks.engine_settings", "--per-kind", "0", "--corpus-pages", "1", "--english", "1",
                       "--fine", "0", "--variants", "defaults,adopted", "--out", "out/bench/fullreport-engine.json"],
            "isolated": [*py, "benchmarks.isolated", "--pages", "4", "--ocr-cores", str(ocr_cores)],
            "shared": [*py, "benchmarks", "--quick", "--out", "out/bench/fullreport-shared"],
            "smalljob": [*py, "benchmarks.smalljob", "--pages", "2", "--rounds", "1", "--no-raydata", "--no-files"],
            "skipped": [*py, "benchmarks.reuse", "--pages", "2", "--duplicates", "1", "--blank", "1"],
        }
    return {
        "engine": [*py, "benchmarks.engine_settings", "--per-kind", "1", "--corpus-pages", "6", "--english", "3",
                   "--fine", "1", "--variants", "defaults,no-invert,adopted",
                   "--out", "out/bench/fullreport-engine.json"],
        "isolated": [*py, "benchmarks.isolated", "--pages", str(pages), "--ocr-cores", str(ocr_cores)],
        "shared": [*py, "benchmarks", "--pages", str(pages), "--baseline-pages", "0", "--paced-docs", "0",
                   "--out", "out/bench/fullreport-shared"],
        "smalljob": [*py, "benchmarks.smalljob", "--pages", "24", "--rounds", "1", "--no-files"],
        "skipped": [*py, "benchmarks.reuse", "--pages", "12", "--duplicates", "4", "--blank", "4"],
    }


def run_section(name: str, command: list[str]) -> tuple[str, int]:
    """One section's report (its output less progress lines, with the command and its wall
    time) and its exit status."""
    started, utc = time.perf_counter(), time.strftime("%H:%M:%S", time.gmtime())
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if not PROGRESS.match(ln)]
    if done.returncode:
        lines += ["", f"FAILED (exit {done.returncode}):", *done.stderr.strip().splitlines()[-15:]]
    shown = " ".join(c for c in command[1:] if c != "-m")
    head = [f"## {TITLES[name]}", "", f"`python -m {shown}` ({utc} UTC, {time.perf_counter() - started:.0f} s)", ""]
    return "\n".join(head + lines).rstrip() + "\n", done.returncode


def machine() -> str:
    """This machine as a reader of the figures needs it: cores, load, the time."""
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{os.cpu_count()} CPUs, load {load}, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
            f"Python {sys.version.split()[0]}")


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.fullreport``: every section in turn; 0 when each ran."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fullreport", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages of the isolated and shared runs")
    parser.add_argument("--quick", action="store_true", help="a few pages a section (a check that each runs)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ",".join(SECTIONS))
    parser.add_argument("--out", type=Path, default=Path("out/bench/fullreport.txt"))
    args = parser.parse_args(argv)
    wanted = [s for s in SECTIONS if s in args.only.split(",")]
    cores = len(os.sched_getaffinity(0))
    plan = commands(args.pages, args.quick, max(1, cores - 1))
    if cores < 2 and "isolated" in wanted:
        wanted.remove("isolated")
        print("isolated: skipped (needs 2 CPUs or more: the OCR cores and the rest)")
    report, failed = [f"# Full benchmark report ({machine()})", ""], 0
    for name in wanted:
        text, status = run_section(name, plan[name])
        failed += status != 0
        print(text, flush=True)
        report.append(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report))
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
