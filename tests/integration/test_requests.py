"""The requests a quick object costs (issue #17), counted at the one seam the fault tests break:
an HTTP proxy in front of moto, the service and its OCR workers sent through it. Real Ray,
Tesseract, moto and osmem-server."""

from __future__ import annotations

import json

import pytest

from pipeline.devstack.samples import encode, render_page
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
    objects = {f"quick/{i:03d}.png": encode(render_page([f"至急 請求書 {i:03d}", f"quick test {i}"], width=500,
                                                        font_size=32), "PNG") for i in range(QUICK)}
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
    assert steady and sum(steady) / len(steady) >= 7, f"receives {sizes}: {steady} once the hold is known"
