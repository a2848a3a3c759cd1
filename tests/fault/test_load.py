"""A burst of 400 messages on 2 cores, far more than the prefetch bound (workers x prefetch, 4 here):
the messages held stay within the bound (prefetch is bounded, not a growing in-memory queue), memory
does not grow with the backlog, and nothing is lost. (1,000 took 2.7 minutes of the suite and
proved nothing 400 does not.)"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from pipeline.devstack.samples import encode, render_page
from pipeline.stream.service import MAX_HOLD_PER_WORKER
from tests.fault.invariant import assert_invariant

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract, pytest.mark.slow]

BURST = 400


def test_a_burst_of_messages_keeps_memory_bounded_and_loses_nothing(settings, resources, s3, sqs, ray_local):
    page = encode(render_page(["負荷試験", "load test"], width=500, font_size=32), "PNG")
    keys = [f"burst/{i:04d}.png" for i in range(BURST)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=resources.bucket, Key=k, Body=page), keys))
    from pipeline.stream.build import build_stream

    service = build_stream(settings.model_copy(update={"bulk_max_delay_s": 1.0}), exit_when_idle_s=4)
    limit = service.pool.size * MAX_HOLD_PER_WORKER  # quick objects: up to ten a worker (stream.service)
    peaks = {"held": 0, "rss": 0}
    me = psutil.Process()
    rss_before = me.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            held = len(service.inflight) + service.inbox.qsize()
            peaks["held"] = max(peaks["held"], held)
            peaks["rss"] = max(peaks["rss"], me.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        assert service.run() == 0
    finally:
        done.set()
        sampler.join()

    # + one receive, + up to ten finished messages waiting to share a delete request
    assert peaks["held"] <= limit + 20, f"held {peaks['held']} messages; the bound is {limit} (+ 20)"
    assert peaks["rss"] - rss_before < 300 * 2**20, "the coordinator's memory grew with the backlog"
    assert service.counts["indexed"] == BURST
    assert_invariant(settings, resources, sqs, set(keys), {})
