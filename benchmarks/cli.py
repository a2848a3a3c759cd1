"""Arguments of the harness, shared by ``python -m benchmarks`` and ``ocr-cluster bench``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

QUICK_PAGES = 6


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The harness's options."""
    p.add_argument("--pages", type=int, default=None, help="pages in the run (default 40; 6 with --quick)")
    p.add_argument("--cores", default=None, help="comma-separated core counts to sweep, e.g. 1,2,4 (default 2)")
    p.add_argument("--quick", action="store_true", help="small pages and few of them (tests, CI)")
    p.add_argument("--clean-only", action="store_true", help="no degraded scans (noise, skew, JPEG, 200 DPI)")
    p.add_argument("--baseline-pages", type=int, default=None,
                   help="pages for the slow CLI baseline (default 3; 1 with --quick; 0 skips it)")
    p.add_argument("--paced-docs", type=int, default=None,
                   help="documents in the paced latency run (default 8; 2 with --quick; 0 skips it)")
    p.add_argument("--paced-fraction", type=float, default=0.5, help="paced arrival rate as a share of the limit")
    p.add_argument("--out", type=Path, default=Path("out/bench"), help="where summary.json, pages.parquet, PNGs go")
    p.add_argument("--seed", type=int, default=7, help="seed of the generated documents")
    p.add_argument("--scanned", action="store_true",
                   help="add one page of each scanned kind (turned, skewed, vertical, mixed, no DPI): quality by "
                        "kind; the ratios then include their extra passes")


def config_from(args: argparse.Namespace):
    """The :class:`~benchmarks.runner.BenchConfig` the arguments ask for."""
    import os

    from benchmarks.runner import BenchConfig

    quick = args.quick
    cores = [int(c) for c in args.cores.split(",")] if args.cores else [min(2, os.cpu_count() or 1)]
    return BenchConfig(
        pages=args.pages or (QUICK_PAGES if quick else 40), cores=cores, quick=quick, degraded=not args.clean_only,
        baseline_pages=_default(args.baseline_pages, 1 if quick else 3),
        paced_docs=_default(args.paced_docs, 2 if quick else 8), paced_fraction=args.paced_fraction,
        out=args.out, seed=args.seed, command=_command_line(), scanned=args.scanned,
    )


def run(args: argparse.Namespace) -> int:
    """Run the harness and print the table; 0 when every mode produced a figure."""
    from benchmarks.report import table
    from benchmarks.runner import run_benchmark

    summary = run_benchmark(config_from(args))
    print()
    print(table(summary))
    print(f"\nwrote {args.out}/summary.json, pages.parquet, throughput.png, latency.png, breakdown.png, quality.png")
    return 0


def _command_line() -> str:
    """How this run was started, as a person would type it."""
    argv0 = sys.argv[0]
    prog = "python -m benchmarks" if argv0.endswith("__main__.py") else Path(argv0).name
    return " ".join([prog, *(shlex.quote(a) for a in sys.argv[1:])])


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
