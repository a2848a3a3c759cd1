"""The stream service on the local stack: S3 events from moto's own notifications, real Ray,
real Tesseract, osmem-server. N sent, N accounted for, nothing twice, queues quiet at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote_plus

import pytest

from pipeline.devstack.samples import encode, render_page, sample_documents
from tests import inputs
from tests.helpers import dlq_reasons, indexed_keys, queue_depth, run_until_idle, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract]

HOSTILE = ["with space.png", "a+b.png", "100% done.png", "請求書 ２月.png", "../up/../x.png", "d/" + "k" * 1000]


def good_objects(prefix: str = "in/") -> dict[str, bytes]:
    objects = {s.key: s.data for s in sample_documents(prefix) if not s.corrupt}
    page = inputs.png_page()
    objects.update({prefix + name: page for name in HOSTILE})
    return objects


def test_every_object_is_indexed_once_and_the_corrupt_one_dead_lettered(settings, resources, s3, sqs, ray_local):
    good = good_objects()
    upload(s3, resources.bucket, {**good, "in/broken.jpg": inputs.truncated(encode(render_page(["x"]), "PNG"))})

    service = run_until_idle(settings)

    assert indexed_keys(settings) == {key: 1 for key in good}
    assert queue_depth(sqs, resources.queue_url) == (0, 0)
    reasons = dlq_reasons(sqs, resources.dlq_url)
    assert list(reasons) == ["in/broken.jpg"]
    assert reasons["in/broken.jpg"].startswith("CorruptDocument: ")
    assert service.counts["indexed"] == len(good) and service.counts["dead-lettered"] == 1


def test_redelivery_of_an_indexed_message_changes_nothing(settings, resources, s3, sqs, ray_local):
    key = "again/invoice.png"
    upload(s3, resources.bucket, {key: inputs.png_page()})
    run_until_idle(settings)
    etag = s3.head_object(Bucket=resources.bucket, Key=key)["ETag"].strip('"')
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": resources.bucket},
                                                                    "object": {"key": quote_plus(key), "eTag": etag}}}]}
    for body in (json.dumps(event), json.dumps({"bucket": resources.bucket, "key": key})):
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=body)

    run_until_idle(settings)

    assert indexed_keys(settings) == {key: 1}
    assert queue_depth(sqs, resources.queue_url) == (0, 0)
    assert dlq_reasons(sqs, resources.dlq_url) == {}


def test_poison_messages_go_to_the_dlq_with_their_class(settings, resources, sqs, ray_local):
    bodies = ["this is not json", json.dumps({"unexpected": True}),
              json.dumps({"bucket": resources.bucket, "key": "missing/object.png"})]
    for body in bodies:
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=body)
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=json.dumps({"Event": "s3:TestEvent"}))

    run_until_idle(settings)

    reasons = dlq_reasons(sqs, resources.dlq_url)
    assert reasons["this is not json"].startswith("BadMessage: the message body is not JSON")
    assert reasons['{"unexpected": true}'].startswith("BadMessage: ")
    assert reasons["missing/object.png"].startswith("ObjectMissing: ")
    assert len(reasons) == 3  # the test event is acknowledged and dropped
    assert queue_depth(sqs, resources.queue_url) == (0, 0)


def test_sigterm_mid_run_loses_nothing(settings, resources, s3, sqs, stack):
    # Three different long documents (identical ones would be read once and reused) and six short.
    objects = {f"long/doc-{d}.pdf": encode([render_page([f"文書 {d} ページ {i} 試験", f"doc {d} page {i}"])
                                             for i in range(12)], "PDF") for d in range(3)}
    objects.update({f"short/p-{i}.png": inputs.png_page() for i in range(6)})
    upload(s3, resources.bucket, objects)
    env = {**os.environ, "OCR_QUEUE_URL": settings.queue_url, "OCR_DLQ_URL": settings.dlq_url,
           "OCR_INDEX": settings.index, "OCR_BULK_MAX_DELAY_S": "0.3", "OCR_DRAIN_TIMEOUT_S": "8",
           "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "pipeline", "stream", "--cpus", "2", "--exit-when-idle", "3"]

    # The first run reads 1.5 s slower a page (the OCR_ENGINE seam), so on any machine the signal
    # lands with work left that the 8 s drain cannot finish: at most ~12 pages of the 42.
    slow = {**env, "OCR_ENGINE": "tests.fault.engines:SlowEngine"}
    proc = subprocess.Popen(cmd, env=slow, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_first_index(settings, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err[-2000:]
    assert '"draining"' in err
    first = indexed_keys(settings)
    assert 0 < sum(first.values()) < len(objects), "the signal must land mid-run"
    assert queue_depth(sqs, resources.queue_url)[1] == 0, "nothing stranded in flight"

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert indexed_keys(settings) == {key: 1 for key in objects}
    assert queue_depth(sqs, resources.queue_url) == (0, 0)
    assert dlq_reasons(sqs, resources.dlq_url) == {}


def _wait_for_first_index(settings, proc, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        if sum(indexed_keys(settings).values()) > 0:
            return
        time.sleep(0.2)
    raise AssertionError("nothing was indexed in time")
