"""Small boto3 helpers shared by the operations commands.

Clients come from boto3's standard configuration (``AWS_REGION``, ``AWS_ENDPOINT_URL``,
credentials), so the same code runs against AWS and against moto. Functions take clients as
arguments; only :func:`client` creates one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pipeline.errors import ConfigError

QUEUE_COUNTERS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def client(service: str) -> Any:
    """A boto3 client configured from the standard AWS environment."""
    import boto3

    return boto3.client(service)


def require(value: str, what: str) -> str:
    """Return ``value`` or raise ConfigError naming the setting that is missing."""
    if not value:
        raise ConfigError(f"{what} is not set")
    return value


def queue_counts(sqs: Any, queue_url: str) -> dict[str, int]:
    """The queue's approximate counters: visible, in flight, delayed."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(QUEUE_COUNTERS))["Attributes"]
    return {
        "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


def dlq_url_of(sqs: Any, queue_url: str) -> str:
    """The DLQ named by the queue's redrive policy, or "" when it has none."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    policy = attrs.get("RedrivePolicy")
    if not policy:
        return ""
    dlq_name = json.loads(policy)["deadLetterTargetArn"].rsplit(":", 1)[-1]
    return sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]


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
