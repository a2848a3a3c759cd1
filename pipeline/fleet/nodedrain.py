"""Worker nodes and the termination lifecycle hook.

The stream service runs on the head; the Auto Scaling group's worker nodes only run Ray. When the
group terminates one (scale-in, instance refresh), the node sees its target lifecycle state turn
``Terminated`` in the instance metadata. ``ocr-cluster node-drain`` watches for that, records a
heartbeat, asks Ray to drain the node (``ray drain-node``: nothing new is placed on it, and the
stream's coordinator gives its OCR workers no more pages and ends each one once its pages are
indexed), waits for those workers to end (heartbeating the hook), stops the node's Ray worker,
then completes the hook with ``CONTINUE`` so the instance goes at once instead of after the
hook's time-out. Past the deadline the node is stopped anyway: what it still held is redone on
other nodes (the ``WorkerLost`` path), never lost.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.fleet.lifecycle import TerminationHook

log = logging.getLogger("ocr_cluster.nodedrain")
TERMINATED = "Terminated"
OCR_WORKER_TITLE = b"ray::OcrWorker"  # Ray names an actor's process after its class


def stop_unit(unit: str, timeout_s: float = 120.0) -> None:
    """``systemctl stop UNIT`` (its ExecStop runs ``ray stop`` with a grace period)."""
    subprocess.run(["systemctl", "stop", unit], check=False, timeout=timeout_s)


def drain_ray_node(
    deadline_s: float,
    heartbeat: Callable[[], None],
    address: str = "",
    node_id: str = "",
    raylets: set[int] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Drain this node's Ray (or ``node_id`` of the cluster at ``address``) and wait until none of
    its OCR workers is left, heartbeating meanwhile; False when Ray refused or the deadline passed.

    ``raylets``: count only workers started by these raylet processes (several nodes on one
    machine, as in tests); by default every OCR worker on this machine.
    """
    ray_cli = Path(sys.executable).with_name("ray")
    cmd = [str(ray_cli) if ray_cli.exists() else "ray", "drain-node", "--reason", "DRAIN_NODE_REASON_PREEMPTION",
           "--reason-message", "Auto Scaling terminates this instance",
           "--deadline-remaining-seconds", str(int(deadline_s))]
    cmd += ["--address", address] if address else []
    cmd += ["--node-id", node_id] if node_id else []
    asked = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if asked.returncode != 0:
        log.warning("ray drain-node failed", extra={"error": (asked.stderr or asked.stdout)[-500:]})
        return False
    deadline = time.monotonic() + deadline_s
    while workers := ocr_worker_pids(raylets):
        if time.monotonic() >= deadline:
            log.warning("drain deadline passed: stopping with OCR workers left", extra={"workers": len(workers)})
            return False
        heartbeat()
        sleep(1.0)
    log.info("node drained: no OCR worker left")
    return True


def ocr_worker_pids(raylets: set[int] | None = None) -> list[int]:
    """Processes of OCR worker actors on this machine (children of ``raylets`` only, if given)."""
    from pipeline.fleet.procs import processes

    return [p.pid for p in processes()
            if p.title.startswith(OCR_WORKER_TITLE) and (raylets is None or p.parent in raylets)]


def watch(
    read_state: Callable[[], str],
    hook: TerminationHook,
    stop_node: Callable[[], None],
    poll_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    drain: Callable[[Callable[[], None]], bool] | None = None,
) -> str:
    """Poll until the node is to be terminated, then heartbeat, drain (``drain(heartbeat)``), stop
    the node, complete the hook."""
    while True:
        try:
            state = read_state()
        except OSError as exc:  # IMDS hiccup: keep watching
            log.warning("target lifecycle state unreadable", extra={"error": str(exc)})
            state = ""
        if state == TERMINATED:
            log.info("terminating: draining this node", extra={"instance": hook.instance})
            hook.heartbeat_if_due()
            if drain is not None:
                drain(hook.heartbeat_if_due)
            stop_node()
            hook.complete()
            return state
        sleep(poll_s)
