"""Core commands: demo (the main job on the local stack), stream, node-drain, validate."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.settings import load_settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``demo``, ``stream``, ``node-drain`` and ``validate``."""
    p = sub.add_parser("demo", help="run sample documents through the stream path on the local stack")
    p.add_argument("--workdir", type=Path, default=Path(".devstack"), help="logs of the local servers")
    p.add_argument("--cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    p.set_defaults(func=_demo)

    p = sub.add_parser("stream", help="the stream service: SQS -> OCR on every core -> OpenSearch")
    p.add_argument("--address", default=None, help="Ray cluster address (default RAY_ADDRESS, else a local Ray)")
    p.add_argument("--exit-when-idle", type=float, default=None, metavar="SECONDS",
                   help="exit 0 once nothing has arrived or been in flight for this long")
    p.add_argument("--cpus", type=int, default=None, help="CPUs of a local Ray (default: all)")
    p.add_argument("--records", type=Path, default=None, help="write per-document timing records (Parquet) here")
    p.set_defaults(func=_stream)

    p = sub.add_parser("node-drain", help="on a worker node: drain and complete the termination lifecycle hook")
    p.add_argument("--unit", default="ray-worker.service", help="the unit that runs this node's Ray worker")
    p.add_argument("--poll", type=float, default=5.0, metavar="SECONDS", help="how often to read IMDS")
    p.add_argument("--deadline", type=float, default=300.0, metavar="SECONDS",
                   help="longest wait for this node's OCR workers to finish their pages before Ray is stopped")
    p.set_defaults(func=_node_drain)

    p = sub.add_parser("validate", help="check engine, languages, queue, OpenSearch and Ray (was --validate-only)")
    p.add_argument("--offline", action="store_true", help="only the checks that need no network")
    p.set_defaults(func=_validate)


def _demo(args: argparse.Namespace) -> int:
    from pipeline.devstack.demo import run_demo
    from pipeline.logjson import setup_logging

    setup_logging("WARNING")
    return run_demo(args.workdir, num_cpus=args.cpus)


def _stream(args: argparse.Namespace) -> int:
    from pipeline.logjson import setup_logging
    from pipeline.stream.build import build_stream

    settings = load_settings(args.env_file)
    setup_logging(settings.log_level, fmt=settings.log_format)
    service = build_stream(settings, args.address, args.exit_when_idle, args.cpus, keep_records=bool(args.records))
    service.install_signal_handlers()
    code = service.run()
    if args.records:
        from pipeline.sinks.parquet import write_rows

        write_rows(service.records, args.records)
    return code


def _node_drain(args: argparse.Namespace) -> int:
    from pipeline.errors import ConfigError
    from pipeline.fleet import imds
    from pipeline.fleet.lifecycle import TerminationHook
    from pipeline.fleet.nodedrain import drain_ray_node, stop_unit, watch
    from pipeline.logjson import setup_logging

    settings = load_settings(args.env_file)
    setup_logging(settings.log_level, fmt=settings.log_format)
    if not (settings.asg_name and settings.lifecycle_hook):
        raise ConfigError("set OCR_ASG_NAME and OCR_LIFECYCLE_HOOK (the group and its termination hook)")
    hook = TerminationHook.for_this_instance(settings)
    if hook is None:
        raise ConfigError("not on EC2, or in no Auto Scaling group: the instance metadata service does not say")
    base = imds.endpoint()
    watch(lambda: imds.target_lifecycle_state(base), hook, lambda: stop_unit(args.unit), poll_s=args.poll,
          drain=lambda heartbeat: drain_ray_node(args.deadline, heartbeat))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pipeline.ops.validate import run_checks

    return run_checks(load_settings(args.env_file), offline=args.offline)
