"""Connect to a Ray cluster, or start a local one sized for this machine."""

from __future__ import annotations

import os

FORWARDED_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION")


def connect(address: str | None = None, num_cpus: int | None = None, object_store_bytes: int | None = None) -> None:
    """``ray.init`` against ``address`` (or ``RAY_ADDRESS``); a local cluster when neither is set."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["OMP_THREAD_LIMIT"] = "1"
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


def cluster_cpus() -> int:
    """Whole CPUs in the cluster now."""
    import ray

    return int(ray.cluster_resources().get("CPU", 1))
