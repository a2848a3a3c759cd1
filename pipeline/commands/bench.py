"""``ocr-cluster bench``: the throughput harness of ``benchmarks/`` (limit, baseline, stream, batch)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench``."""
    from benchmarks.cli import add_arguments

    p = sub.add_parser("bench", help="measure pipeline pages/s against the bare engine and the seed baseline")
    add_arguments(p)
    p.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    from benchmarks.cli import run

    return run(args)
