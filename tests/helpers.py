"""Helpers for stack tests: upload, run the service until idle, read back the index and queues."""

from __future__ import annotations

import urllib.request
from collections import Counter
from typing import Any

from pipeline.errors import OcrClusterError
from pipeline.settings import Settings
from pipeline.sinks.opensearch import make_client, refresh
from pipeline.sources.dlq import error_class_of, peek
from pipeline.sources.sqs import SqsQueue, parse_body


def upload(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    """Put each object (S3 notifies the queue)."""
    for key, data in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def run_until_idle(settings: Settings, idle_s: float = 2.0) -> Any:
    """Build and run the stream service on the session's Ray until the queue is quiet."""
    from pipeline.stream.build import build_stream

    service = build_stream(settings, exit_when_idle_s=idle_s)
    assert service.run() == 0
    return service


def indexed_keys(settings: Settings) -> Counter[str]:
    """How many documents the index holds per key."""
    client = make_client(settings)
    if not client.indices.exists(index=settings.index):
        return Counter()
    refresh(client, settings.index)
    hits = client.search(index=settings.index, body={"size": 10_000, "_source": ["key"]})["hits"]["hits"]
    return Counter(h["_source"]["key"] for h in hits)


def queue_depth(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight), as the service reads them (:meth:`SqsQueue.depth`)."""
    depth = SqsQueue(sqs, url).depth()
    return depth["visible"], depth["in_flight"]


def dlq_reasons(sqs: Any, dlq_url: str) -> dict[str, str]:
    """DLQ contents as {key or body: 'ErrorClass: reason'}."""
    out = {}
    for m in peek(sqs, dlq_url):
        try:
            name = parse_body(m.body)[0].key
        except (OcrClusterError, IndexError):
            name = m.body
        out[name] = f"{error_class_of(m)}: {m.attributes.get('ErrorReason', '')}"
    return out


def moto_post(url: str, data: bytes = b"") -> None:
    """POST to a moto control endpoint (``/moto-api/reset``, ``/moto-api/reset-auth``)."""
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request, timeout=10).close()


def reset_moto(endpoint: str) -> None:
    """The resettable moto server (``moto_endpoint``) as an empty account, IAM enforcement off (an
    IAM test may have left it on). Never the stack's: see tests/conftest.py."""
    moto_post(f"{endpoint}/moto-api/reset")
    moto_post(f"{endpoint}/moto-api/reset-auth", b"inf")
