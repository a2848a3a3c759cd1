"""Connect to a Ray cluster, or start a local one sized for this machine."""

from __future__ import annotations

import os
from typing import Any

FORWARDED_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION")
# Ray kills a worker process idle for 1 s once more run than the node has CPUs, so a backfill's
# write tasks (between the OCR actors' pages) each paid a new process: ~1.5 s of a CPU apiece,
# a fifth of a 2-CPU machine. Idle workers now live a minute (``ray start`` on the nodes: the same
# value in the Ray units of cluster/systemd and in cluster/ray-cluster.yaml).
IDLE_WORKER_KEEP = ("RAY_idle_worker_killing_time_threshold_ms", "60000")


def connect(address: str | None = None, num_cpus: int | None = None, object_store_bytes: int | None = None) -> None:
    """``ray.init`` against ``address`` (or ``RAY_ADDRESS``); a local cluster when neither is set."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    os.environ.setdefault(*IDLE_WORKER_KEEP)  # read by the raylet a local cluster starts
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        return
    ray.init(
        address="local",  # a new cluster even when another runs on this machine (`ray start`)
        num_cpus=num_cpus,
        include_dashboard=False,
        object_store_memory=object_store_bytes or 1_000_000_000,
        logging_level="WARNING",
        log_to_driver=False,
    )


def worker_env() -> dict[str, str]:
    """What every OCR worker process gets: one Tesseract thread, and the AWS endpoint/region in use
    (never credentials: workers use the node's instance profile, or inherit them locally)."""
    return {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ} | {"OMP_THREAD_LIMIT": "1"}


_before_adopt: dict[str, str | None] = {}  # this process's own values of what adopt_env set


def adopt_env(env: dict[str, str] | None) -> None:
    """In a worker process: one Tesseract thread, and the variables the driver forwarded
    (:func:`worker_env`).

    They travel as constructor arguments rather than a ``runtime_env``: a task or actor with a
    ``runtime_env`` cannot use the worker processes Ray has already started and waits for new
    ones, each ~1.5 s of a CPU to start (a fifth of a 2-CPU machine during a backfill). A reused
    process first gets back its own values of what an earlier driver set; a variable this driver
    does not send keeps the node's value (e.g. ``AWS_REGION`` from the node's env file).
    """
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if env is None:
        return
    for name, original in _before_adopt.items():
        if original is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = original
    _before_adopt.clear()
    for name, value in env.items():
        _before_adopt[name] = os.environ.get(name)
        os.environ[name] = value


def cluster_cpus() -> int:
    """Whole CPUs in the cluster now."""
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


def draining_nodes() -> set[str]:
    """Hex ids of the nodes Ray is draining (``ray drain-node``, as ``node-drain`` asks when Auto
    Scaling terminates an instance): nothing new is placed on them; their work should end."""
    try:
        from ray._private.state import state

        return set(state.get_draining_nodes())
    except Exception as exc:  # Ray's own accessor (no public one yet): never let it stop a service
        import logging

        logging.getLogger("ocr_cluster.ray").warning("draining nodes unreadable", extra={"error": str(exc)})
        return set()


def schedulable_cpus(draining: set[str]) -> int:
    """Whole CPUs of the live nodes that are not being drained (at least 1, as ``cluster_cpus``:
    a cluster without a CPU node yet still gets a worker asked for, which waits for one)."""
    import ray

    cpus = sum(n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"] and n["NodeID"] not in draining)
    return max(1, int(cpus))


def warm_stage(settings: Any, env: dict[str, str] | None = None) -> Any:
    """The OCR stage of a Ray worker process (stream worker, batch and range actors): the driver's
    environment adopted first (:func:`adopt_env`), then the engine loaded; with
    ``OCR_REUSE_DUPLICATES`` the index is its lookup of prior readings (this process's wiring:
    the stage itself knows no sink)."""
    from pipeline.engine.stage import OcrStage

    adopt_env(env)
    prior = None
    if settings.reuse_duplicates:
        from pipeline.sinks.opensearch import OpenSearchReadings

        prior = OpenSearchReadings.from_settings(settings)
    stage = OcrStage(settings, prior=prior)
    stage.setup()
    return stage
