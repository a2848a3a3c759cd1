"""Batch commands: ``backfill`` and ``dlq inspect|reprocess|redrive``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline.settings import Settings, load_settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``backfill`` and ``dlq``."""
    p = sub.add_parser("backfill", help="OCR S3 prefixes or local directories as a Ray Dataset into OpenSearch")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="s3://bucket/prefix or a local directory")
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="keep matching keys (repeatable)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="drop keys matching (repeatable)")
    p.add_argument("--modified-since", default=None, metavar="ISO", help="only objects modified at or after this")
    p.add_argument("--limit", type=int, default=None, help="at most this many objects")
    p.add_argument("--skip-existing", action="store_true", help="skip object versions already indexed")
    p.add_argument("--parquet", default="", metavar="PATH", help="also write documents/, pages/, failures/ here")
    _ray_options(p)
    p.set_defaults(func=_backfill)

    dlq = sub.add_parser("dlq", help="the dead-letter queue: inspect, reprocess, redrive")
    dsub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    p = dsub.add_parser("inspect", help="messages grouped by error class, with examples (nothing consumed)")
    p.add_argument("--limit", type=int, default=1000, help="read at most this many messages")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_inspect)
    p = dsub.add_parser("reprocess", help="OCR the DLQ's jobs in batch; delete what succeeds, re-reason the rest")
    p.add_argument("--limit", type=int, default=None, help="at most this many messages")
    p.add_argument("--hold", type=int, default=300, metavar="SECONDS", help="visibility held (and renewed)")
    p.add_argument("--parquet", default="", metavar="PATH", help="also write documents/, pages/, failures/ here")
    _ray_options(p)
    p.set_defaults(func=_reprocess)
    p = dsub.add_parser("redrive", help="move DLQ messages back to the source queue")
    p.add_argument("--error-class", action="append", default=[], help="only messages of this class (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="at most this many messages")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_redrive)


def _ray_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--address", default=None, help="Ray cluster (default RAY_ADDRESS, else a local Ray)")
    p.add_argument("--cpus", type=int, default=None, help="CPUs of a local Ray (default: all)")
    p.add_argument("--workers", type=int, default=0, help="OCR actors (default: one per CPU of the cluster)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _backfill(args: argparse.Namespace) -> int:
    from pipeline.batch.run import format_summary, run_backfill
    from pipeline.fleet.raycluster import connect
    from pipeline.sources.listing import ListingFilter, parse_since

    settings = load_settings(args.env_file)
    since = parse_since(args.modified_since) if args.modified_since else None
    keep = ListingFilter(tuple(args.include), tuple(args.exclude), since)
    connect(args.address, args.cpus)
    summary = run_backfill(settings, args.sources, keep, args.limit, args.skip_existing, args.parquet,
                           args.workers, progress=not args.no_progress)
    _print(summary.to_json() if args.json else format_summary(summary))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from pipeline.sources.dlq import peek, summarise

    settings = load_settings(args.env_file)
    summary = summarise(peek(_sqs(), _dlq_url(settings), limit=args.limit))
    if args.json:
        _print({"counts": dict(summary.counts), "examples": dict(summary.examples)})
        return 0
    lines = [f"{'error class':<28} {'count':>6}  examples"]
    for error_class, count in summary.counts.most_common():
        examples = summary.examples[error_class]
        lines.append(f"{error_class:<28} {count:>6}  {examples[0][:90] if examples else ''}")
        lines += [f"{'':<36}{e[:90]}" for e in examples[1:]]
    lines.append(f"{'total':<28} {sum(summary.counts.values()):>6}")
    _print("\n".join(lines))
    return 0


def _reprocess(args: argparse.Namespace) -> int:
    from pipeline.batch.reprocess import reprocess
    from pipeline.batch.run import format_summary
    from pipeline.fleet.raycluster import connect

    settings = load_settings(args.env_file)
    connect(args.address, args.cpus)
    result = reprocess(settings, _sqs(), _dlq_url(settings), args.limit, args.hold, args.workers,
                       progress=not args.no_progress, parquet=args.parquet)
    if args.json:
        _print(result.to_json())
        return 0
    kept = ", ".join(f"{k} {v}" for k, v in result.kept.items()) or "none"
    _print(f"{format_summary(result.summary)}\nDLQ messages: {result.received} received, "
           f"{result.deleted} deleted, left with a new reason: {kept}")
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from pipeline.batch.reprocess import redrive

    settings = load_settings(args.env_file)
    result = redrive(_sqs(), _dlq_url(settings), settings.queue_url, tuple(args.error_class), args.limit)
    if args.json:
        _print(result.to_json())
    elif result.method == "move-task":
        _print(f"StartMessageMoveTask started (task {result.task_handle}); follow it with "
               "`aws sqs list-message-move-tasks --source-arn <dlq arn>`")
    else:
        _print(f"moved {result.moved} message(s) to the queue; {result.left} of other classes left in the DLQ")
    return 0


def _sqs() -> Any:
    from pipeline.awsclients import aws_client

    return aws_client("sqs")


def _dlq_url(settings: Settings) -> str:
    """``OCR_DLQ_URL``, else the queue's redrive policy."""
    from pipeline.errors import ConfigError
    from pipeline.sources.sqs import SqsQueue

    if settings.dlq_url:
        return settings.dlq_url
    if not settings.queue_url:
        raise ConfigError("no DLQ: set OCR_DLQ_URL or OCR_QUEUE_URL (whose redrive policy names it)")
    return SqsQueue(_sqs(), settings.queue_url).dlq_url


def _print(value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(text + "\n")
