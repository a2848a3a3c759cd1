"""boto3 clients with explicit time-outs; endpoints and credentials come from the standard AWS
variables (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ...), so moto and AWS need no code path of their own."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


def aws_client(service: str, timeout_s: float = 30.0, max_attempts: int = 3) -> Any:
    """A boto3 client for ``service`` with connect/read time-outs and standard retries."""
    config = Config(
        connect_timeout=min(timeout_s, 10.0),
        read_timeout=timeout_s,
        retries={"max_attempts": max_attempts, "mode": "standard"},
    )
    return boto3.session.Session().client(service, config=config)
