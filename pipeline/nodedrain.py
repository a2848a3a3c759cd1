"""Worker nodes and the termination lifecycle hook.

The stream service runs on the head; the Auto Scaling group's worker nodes only run Ray. When the
group terminates one (scale-in, instance refresh), the node sees its target lifecycle state turn
``Terminated`` in the instance metadata. ``ocr-cluster node-drain`` watches for that, records a
heartbeat, stops the node's Ray worker (its OCR actors end; the pages they held are redone on
other nodes — the ``WorkerLost`` path), then completes the hook with ``CONTINUE`` so the instance
goes at once instead of after the hook's time-out.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable

from pipeline import imds
from pipeline.lifecycle import TerminationHook

log = logging.getLogger("ocr_cluster.nodedrain")
TERMINATED = "Terminated"


def target_state(base: str, timeout_s: float = 2.0) -> str:
    """The instance's target lifecycle state (``InService``, ``Terminated``, ...)."""
    token = imds.session_token(base, timeout_s)
    return imds.read(base, token, "autoscaling/target-lifecycle-state", timeout_s)


def stop_unit(unit: str, timeout_s: float = 120.0) -> None:
    """``systemctl stop UNIT`` (its ExecStop runs ``ray stop`` with a grace period)."""
    subprocess.run(["systemctl", "stop", unit], check=False, timeout=timeout_s)


def watch(
    read_state: Callable[[], str],
    hook: TerminationHook,
    stop_node: Callable[[], None],
    poll_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll until the node is to be terminated, then heartbeat, stop the node, complete the hook."""
    while True:
        try:
            state = read_state()
        except OSError as exc:  # IMDS hiccup: keep watching
            log.warning("target lifecycle state unreadable", extra={"error": str(exc)})
            state = ""
        if state == TERMINATED:
            log.info("terminating: draining this node", extra={"instance": hook.instance})
            hook.heartbeat_if_due()
            stop_node()
            hook.complete()
            return state
        sleep(poll_s)
