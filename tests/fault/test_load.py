"""A burst of 400 quick messages on 2 cores, far more than the hold (ten a worker for quick objects,
20 here): the messages still to be read stay within it (prefetch is bounded, not a growing in-memory
queue), those read and waiting for the bulk writer within its document bound, memory does not grow
with the backlog, and nothing is lost. (1,000 took 2.7 minutes of the suite and proved nothing 400
does not.)"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from pipeline.devstack.samples import encode, render_page
from pipeline.stream.intake import MAX_HOLD_PER_WORKER
from tests.fault.invariant import assert_invariant

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract, pytest.mark.slow]

BURST = 400


def test_a_burst_of_messages_keeps_memory_bounded_and_loses_nothing(settings, resources, s3, sqs, ray_local):
    page = encode(render_page(["負荷試験", "load test"], width=500, font_size=32), "PNG")
    keys = [f"burst/{i:04d}.png" for i in range(BURST)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=resources.bucket, Key=k, Body=page), keys))
    from pipeline.stream.build import build_stream

    bulk_docs = 20  # documents read and waiting for the bulk writer are bounded by its own bounds
    service = build_stream(settings.model_copy(update={"bulk_max_delay_s": 1.0, "bulk_max_docs": bulk_docs}),
                           exit_when_idle_s=4)
    limit = service.pool.size * MAX_HOLD_PER_WORKER  # quick objects: up to ten a worker (stream.intake)
    peaks = {"held": 0, "to_read": 0, "rss": 0}
    me = psutil.Process()
    rss_before = me.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            waiting = service.intake.waiting()
            held = len(service.inflight) + waiting
            to_read = sum(1 for e in list(service.inflight.values()) if e.ocr_open) + waiting
            peaks["held"] = max(peaks["held"], held)
            peaks["to_read"] = max(peaks["to_read"], to_read)
            peaks["rss"] = max(peaks["rss"], me.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        assert service.run() == 0
    finally:
        done.set()
        sampler.join()

    assert peaks["held"] > 0 and peaks["rss"] > 0, "the sampler saw the service at work"
    # the hold bounds what is still to be read (+ one receive of ten); beside it the service holds
    # messages read and waiting for the bulk writer (its document bound) or for a shared delete (ten)
    assert peaks["to_read"] <= limit + 10, f"{peaks['to_read']} messages still to read; the bound is {limit} (+ 10)"
    bound = limit + 10 + bulk_docs + 10
    assert peaks["held"] <= bound, f"held {peaks['held']} messages; the bound is {bound}"
    assert peaks["rss"] - rss_before < 300 * 2**20, "the coordinator's memory grew with the backlog"
    assert service.counts["indexed"] == BURST
    assert_invariant(settings, resources, sqs, set(keys), {})
