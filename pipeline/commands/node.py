"""Node commands: ``ocr-cluster doctor`` (was ``debug-worker.sh``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.ops import doctor
from pipeline.ops.checks import exit_code, format_json, format_text


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``doctor``."""
    parser = sub.add_parser(
        "doctor",
        help="diagnose this node: units, env file, IMDSv2, queue, OpenSearch, Ray, Tesseract",
        description=doctor.__doc__.splitlines()[0] if doctor.__doc__ else None,
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--imds-endpoint",
        default="",
        help="instance metadata endpoint (default $AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254)",
    )
    parser.add_argument("--ray-address", default="", help="Ray GCS address (default $RAY_HEAD_ADDRESS)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per network check (default 5)")
    parser.add_argument("--log-lines", type=int, default=5, help="journal lines per unit (default 5)")
    parser.set_defaults(func=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    """Run every check, print the report, exit 1 if any FAILed."""
    options = doctor.DoctorOptions(
        env_file=Path(args.env_file) if args.env_file else None,
        imds_endpoint=args.imds_endpoint,
        ray_address=args.ray_address,
        timeout_s=args.timeout,
        log_lines=args.log_lines,
    )
    checks = doctor.run_checks(options)
    print(format_json(checks) if args.json else format_text(checks))
    return exit_code(checks)
