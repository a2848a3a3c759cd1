"""The EC2 instance metadata service, version 2 only (a session token first, then reads)."""

from __future__ import annotations

import os
import urllib.request

DEFAULT_IMDS = "http://169.254.169.254"


def endpoint(override: str | None = None) -> str:
    """The metadata endpoint: ``override``, boto's ``AWS_EC2_METADATA_SERVICE_ENDPOINT``, then EC2's."""
    return (override or os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or DEFAULT_IMDS).rstrip("/")


def session_token(base: str, timeout_s: float = 2.0, ttl_s: int = 60) -> str:
    """A session token (PUT); raises ``OSError`` when not on EC2."""
    request = urllib.request.Request(
        f"{base}/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": str(ttl_s)}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return response.read().decode()


def read(base: str, token: str, path: str, timeout_s: float = 2.0) -> str:
    """One metadata value, e.g. ``instance-id``."""
    request = urllib.request.Request(f"{base}/latest/meta-data/{path}", headers={"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return response.read().decode()


def instance_id(override: str | None = None, timeout_s: float = 2.0) -> str:
    """This instance's id."""
    base = endpoint(override)
    return read(base, session_token(base, timeout_s), "instance-id", timeout_s)


def target_lifecycle_state(base: str, timeout_s: float = 2.0) -> str:
    """The instance's target lifecycle state in its Auto Scaling group (``InService``,
    ``Terminated``, ...); raises ``OSError`` (404) for an instance in no group."""
    return read(base, session_token(base, timeout_s), "autoscaling/target-lifecycle-state", timeout_s)
