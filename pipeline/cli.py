"""The ``ocr-cluster`` command: a thin layer that parses arguments and calls one function.

Each command group lives in its own module and registers itself through ``add_parser(sub)``;
the functions they call hold the logic. Exit codes: 0 ok, 1 failed, 2 configuration error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pipeline.errors import OcrClusterError

# Modules that contribute subcommands; each defines ``add_parser(subparsers) -> None`` and sets
# ``func`` (taking the parsed namespace, returning an exit code) on the parsers it adds.
COMMAND_MODULES = (
    "pipeline.commands.core",
    "pipeline.commands.ops",
    "pipeline.commands.node",
    "pipeline.commands.bench",
    "pipeline.commands.batch",
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(
        prog="ocr-cluster",
        description="OCR cluster: S3 + SQS in, Tesseract (jpn, Latin lines in eng) on every core, OpenSearch out.",
    )
    parser.add_argument("--env-file", help="KEY=VALUE file (default /etc/file-processor/env if present)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)  # a module that fails to import is a bug: say so
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except OcrClusterError as exc:
        print(f"ocr-cluster: {exc.error_class}: {exc.reason}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
