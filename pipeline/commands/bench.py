"""``ocr-cluster bench``: the throughput harness of ``benchmarks/`` (limit, baseline, stream, batch).

The harness lives in the ``benchmarks`` package next to ``pipeline``; when an install does not
carry it (an editable install made before it existed, a wheel without it), ``bench`` says so and
every other command keeps working.
"""

from __future__ import annotations

import argparse
import sys

MISSING = ("ocr-cluster bench: the benchmarks package is not importable here; reinstall the project "
           "(bash scripts/setup.sh, or .venv/bin/pip install -e '.[dev]') or run .venv/bin/python -m benchmarks "
           "from the repository root")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench``."""
    p = sub.add_parser("bench", help="measure pipeline pages/s against the bare engine and the seed baseline")
    try:
        from benchmarks.cli import add_arguments
    except ModuleNotFoundError as exc:
        if exc.name != "benchmarks" and not (exc.name or "").startswith("benchmarks."):
            raise
        p.set_defaults(func=_missing)
        return
    add_arguments(p)
    p.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    from benchmarks.cli import run

    return run(args)


def _missing(args: argparse.Namespace) -> int:
    print(MISSING, file=sys.stderr)
    return 2
