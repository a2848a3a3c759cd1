"""``ocr-cluster validate``: can this node run the service? One line per check, exit 1 on a failure.

The systemd unit runs ``validate --offline`` before the service starts (the engine, its language
files, the thread budget); without ``--offline`` it also writes a probe to the index and reads the
queue's redrive policy. The checks are :mod:`pipeline.ops.checks`', shared with ``doctor``.
"""

from __future__ import annotations

import os

from pipeline.ops.checks import (
    OK,
    Check,
    check_engine,
    check_language_data,
    check_opensearch,
    check_queue,
    check_ray,
    check_thread_budget,
    exit_code,
    format_text,
    ray_head_address,
)
from pipeline.settings import Settings

TIMEOUT_S = 10.0


def validate(settings: Settings, offline: bool = False) -> list[Check]:
    """The checks, in order: the engine's (no network), then the queue, the index and Ray."""
    checks = [check_language_data(settings), check_engine(settings), check_thread_budget()]
    if offline:
        return checks
    return [*checks, check_queue(settings, TIMEOUT_S), check_opensearch(settings, TIMEOUT_S, write=True),
            check_node_ray()]


def check_node_ray(timeout_s: float = TIMEOUT_S * 3) -> Check:
    """``ray status`` of the cluster this machine serves: on a node (``FP_ROLE`` in its env file)
    always, the head's address or else the local cluster's; elsewhere only when an address is set
    (none: the command starts a local Ray of its own)."""
    address = ray_head_address()
    if not address and not os.environ.get("FP_ROLE"):
        return Check("ray", OK, "not a node and no Ray address: a local Ray starts")
    return check_ray(address, timeout_s)


def run_checks(settings: Settings, offline: bool = False) -> int:
    """Run the checks, print a line each, return 0 when all pass."""
    checks = validate(settings, offline)
    print(format_text(checks))
    return exit_code(checks)
