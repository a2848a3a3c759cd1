"""Small boto3 helpers shared by the operations commands.

Clients come from boto3's standard configuration (``AWS_REGION``, ``AWS_ENDPOINT_URL``,
credentials), so the same code runs against AWS and against moto. Functions take clients as
arguments; only :func:`client` creates one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline.errors import ConfigError


def client(service: str) -> Any:
    """A boto3 client configured from the standard AWS environment (the service's own factory)."""
    from pipeline.awsclients import aws_client

    return aws_client(service)


def require(value: str, what: str) -> str:
    """Return ``value`` or raise ConfigError naming the setting that is missing."""
    if not value:
        raise ConfigError(f"{what} is not set")
    return value


def queue_name(queue_url: str) -> str:
    """The queue's name (last path element of its URL): the QueueName metric dimension."""
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def paginate(client_: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` across the pages of a paginated call."""
    for page in client_.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
