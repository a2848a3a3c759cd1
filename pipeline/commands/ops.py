"""Operations commands: ``ami deploy``, ``ami prune``, ``status``, ``smoke``.

Thin: parse, build clients from the standard AWS environment, call pipeline.ops, print.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipeline.errors import ConfigError
from pipeline.ops import ami, aws, smoke, status
from pipeline.settings import load_settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``ami``, ``status`` and ``smoke``."""
    _add_ami(sub)
    _add_status(sub)
    _add_smoke(sub)


def _add_ami(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("ami", help="roll worker images out, back, and prune old ones")
    ami_sub = parser.add_subparsers(dest="ami_command", required=True, metavar="ACTION")

    deploy = ami_sub.add_parser("deploy", help="new launch template version + instance refresh")
    deploy.add_argument("ami_id", nargs="?", help="image to deploy (omit with --rollback)")
    deploy.add_argument("--rollback", action="store_true", help="deploy the image the current default replaced")
    deploy.add_argument(
        "--launch-template",
        default="",
        help=f"launch template name (default OCR_LAUNCH_TEMPLATE, else {ami.DEFAULT_LAUNCH_TEMPLATE})",
    )
    deploy.add_argument("--asg", default="", help=f"Auto Scaling group (default $OCR_ASG_NAME or {ami.DEFAULT_ASG})")
    deploy.add_argument("--no-wait", action="store_true", help="start the refresh and return")
    deploy.add_argument("--min-healthy", type=int, default=90, help="MinHealthyPercentage (default 90)")
    deploy.add_argument("--warmup", type=int, default=300, help="InstanceWarmup seconds (default 300)")
    deploy.add_argument("--poll", type=float, default=15.0, help="seconds between progress checks")
    deploy.add_argument("--timeout", type=float, default=3600.0, help="give up following after this many seconds")
    deploy.set_defaults(func=run_deploy)

    prune = ami_sub.add_parser("prune", help="deregister old images and delete their snapshots")
    prune.add_argument("--keep", type=int, default=5, help="newest images to keep (default 5)")
    prune.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    prune.set_defaults(func=run_prune)


def _add_status(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("status", help="the daily health check: instances, queue, DLQ, scaling")
    parser.add_argument("--asg", default="", help=f"Auto Scaling group (default $OCR_ASG_NAME or {ami.DEFAULT_ASG})")
    parser.add_argument("--max-age", type=float, default=1800.0, help="oldest message age limit, s (default 1800)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run_status)


def _add_smoke(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("smoke", help="send a test document and wait until it is searchable")
    parser.add_argument("--bucket", default="", help="bucket for the test document (default OCR_SMOKE_BUCKET)")
    parser.add_argument(
        "--prefix",
        default="",
        help="key prefix, under the one the bucket notification announces (default OCR_SMOKE_PREFIX, "
        "from the environment or --env-file; Terraform's node_env has it)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (default 300)")
    parser.set_defaults(func=run_smoke)


def _asg(args: argparse.Namespace) -> str:
    settings = load_settings(args.env_file)
    return args.asg or settings.asg_name or ami.DEFAULT_ASG


def run_deploy(args: argparse.Namespace) -> int:
    """``ocr-cluster ami deploy``."""
    if bool(args.ami_id) == bool(args.rollback):
        raise ConfigError("give either an AMI id or --rollback")
    common = {
        "template": args.launch_template or load_settings(args.env_file).launch_template,
        "asg": _asg(args),
        "wait": not args.no_wait,
        "preferences": ami.RefreshPreferences(args.min_healthy, args.warmup),
        "poll_s": args.poll,
        "timeout_s": args.timeout,
    }
    ec2, autoscaling = aws.client("ec2"), aws.client("autoscaling")
    if args.rollback:
        ami.rollback(ec2, autoscaling, **common)
    else:
        ami.deploy(ec2, autoscaling, args.ami_id, **common)
    return 0


def run_prune(args: argparse.Namespace) -> int:
    """``ocr-cluster ami prune``."""
    load_settings(args.env_file)
    ami.prune(aws.client("ec2"), keep=args.keep, dry_run=args.dry_run)
    return 0


def run_status(args: argparse.Namespace) -> int:
    """``ocr-cluster status``: exit 1 when something needs attention."""
    settings = load_settings(args.env_file)
    report = status.collect(
        aws.client("autoscaling"),
        aws.client("sqs"),
        aws.client("cloudwatch"),
        asg=args.asg or settings.asg_name or ami.DEFAULT_ASG,
        queue_url=aws.require(settings.queue_url, "OCR_QUEUE_URL"),
        dlq_url=settings.dlq_url,
        max_age_s=args.max_age,
    )
    print(status.render_json(report) if args.json else status.render_text(report))
    return report.exit_code


def run_smoke(args: argparse.Namespace) -> int:
    """``ocr-cluster smoke``."""
    settings = load_settings(args.env_file)
    bucket = aws.require(args.bucket or settings.smoke_bucket, "--bucket / OCR_SMOKE_BUCKET")
    # read after load_settings: the env file's lines are in the environment by then
    prefix = aws.require(args.prefix or os.environ.get("OCR_SMOKE_PREFIX", ""), "--prefix / OCR_SMOKE_PREFIX")
    from pipeline.sinks.opensearch import make_client

    smoke.run(
        aws.client("s3"),
        make_client(settings),
        bucket=bucket,
        index=settings.index,
        prefix=prefix,
        timeout_s=args.timeout,
        report=lambda line: print(line, file=sys.stderr),
    )
    return 0
