"""The requests a quick object costs (issue #17), counted at the one seam the fault tests break:
an HTTP proxy in front of moto, the service and its OCR workers sent through it. Real Ray,
Tesseract, moto and osmem-server."""

from __future__ import annotations

import json
import statistics

import pytest

from pipeline.devstack.samples import encode, render_page
from pipeline.sinks.opensearch import make_client, refresh
from tests.fault.invariant import assert_invariant
from tests.fault.proxy import FaultProxy, Request, Rewrite
from tests.helpers import run_until_idle, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract]

QUICK = 100
WARM_UP = 50  # messages received before the hold is steady


@pytest.fixture
def sqs_proxy(stack, monkeypatch):
    """A proxy in front of moto for the service (its SQS client) and its workers (S3)."""
    with FaultProxy(stack.endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy


def quick_objects(count: int, prefix: str = "quick") -> dict[str, bytes]:
    """``count`` one-line scans, each its own text (no two alike: nothing to reuse)."""
    return {f"{prefix}/{i:03d}.png": encode(render_page([f"至急 請求書 {i:03d}", f"quick test {i}"], width=500,
                                                        font_size=32), "PNG") for i in range(count)}


def receive_sizes(proxy: FaultProxy) -> list[int]:
    """Messages in each ``ReceiveMessage`` answer through ``proxy``, as they come."""
    sizes: list[int] = []

    def count(status: int, body: bytes) -> tuple[int, bytes]:
        sizes.append(len(json.loads(body or b"{}").get("Messages", [])) if status == 200 else 0)
        return status, body

    def rule(request: Request) -> object:
        return Rewrite(count) if request.target == "AmazonSQS.ReceiveMessage" else None

    proxy.rules.append(rule)
    return sizes


def test_quick_objects_are_received_ten_at_a_time(settings, resources, s3, sqs, sqs_proxy, ray_local):
    objects = quick_objects(QUICK)
    upload(s3, resources.bucket, objects)
    sizes = receive_sizes(sqs_proxy)

    run_until_idle(settings)

    assert_invariant(settings, resources, sqs, set(objects), {})
    received = [n for n in sizes if n]
    assert sum(received) == QUICK + 1, "every message received once (and moto's s3:TestEvent)"
    # once the service knows its objects are quick (the first WARM_UP messages: the hold grows
    # from prefetch_per_worker as the tasks' seconds are learnt), and while ten are left to
    # receive: before, the receiver asked for whatever room the last results had made, one to
    # four messages a receive (never ten); now it waits for room for ten
    steady, seen = [], 0
    for n in received:
        if WARM_UP <= seen <= QUICK + 1 - 10:
            steady.append(n)
        seen += n
    # the median, not the mean: on a loaded machine the hold is learnt a receive or two later
    # (measured: [2, 4, 8, 7, 7, 7, 10] with a benchmark on the other core), where the old receiver
    # never reached seven
    assert steady and statistics.median(steady) >= 7, f"receives {sizes}: {steady} once the hold is known"


def is_search(request: Request) -> bool:
    return request.path.split("?")[0].endswith("/_search")


def test_a_receives_earlier_readings_are_looked_for_in_one_search(settings, resources, s3, sqs, stack, sqs_proxy,
                                                                  ray_local):
    objects = quick_objects(30)
    upload(s3, resources.bucket, objects)
    sizes = receive_sizes(sqs_proxy)
    with FaultProxy(stack.opensearch_url) as proxy:
        service = run_until_idle(settings.model_copy(update={"opensearch_url": proxy.url}))
        batched = proxy.count(lambda r: is_search(r) and '"aggs"' in r.text())
        each = proxy.count(lambda r: is_search(r) and '"aggs"' not in r.text())
    assert_invariant(settings, resources, sqs, set(objects), {})
    # before: a search per object once its worker had its bytes; now at most one per receive,
    # before the fetches, and none by the workers (every ETag here is its object's MD5, none indexed)
    receives = sum(1 for n in sizes if n)
    assert each == 0 and 1 <= batched == service.lookahead.searches <= receives < 30, (each, batched, sizes)

    # a copy of an indexed object is still found (its ETag is in the index); so is one whose
    # message names an ETag that is not its bytes' MD5 (the look-ahead's mark does not hold for it:
    # a bucket without notifications, so that message is the copy's only one)
    refresh(make_client(settings), settings.index)
    original = objects["quick/000.png"]
    quiet = resources.bucket + "-quiet"
    s3.create_bucket(Bucket=quiet)
    s3.put_object(Bucket=quiet, Key="copy/b.png", Body=original)
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=json.dumps(
        {"bucket": quiet, "key": "copy/b.png", "etag": "0" * 32, "size": len(original)}))
    upload(s3, resources.bucket, {"copy/a.png": original})
    service = run_until_idle(settings)

    assert_invariant(settings, resources, sqs, {*objects, "copy/a.png", "copy/b.png"}, {})
    client = make_client(settings)
    hits = client.search(index=settings.index, body={"size": 100, "_source": ["key", "reused_from"]})["hits"]["hits"]
    docs = {h["_source"]["key"]: (h["_id"], h["_source"].get("reused_from")) for h in hits}
    assert docs["copy/a.png"][1] == docs["copy/b.png"][1] == docs["quick/000.png"][0]
    assert service.metrics.skipped["reused_documents"] == 2
