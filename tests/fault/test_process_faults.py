"""Faults that need the service in its own process: killed between indexing and deleting,
SIGTERM during a long poll and with a partial bulk batch buffered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests import inputs
from tests.fault.engines import SLOW_PAGES
from tests.fault.invariant import assert_invariant
from tests.fault.proxy import FaultProxy, Hang, Request
from tests.helpers import indexed_keys, queue_depth, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract]


def service_env(settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "OCR_QUEUE_URL": settings.queue_url, "OCR_DLQ_URL": settings.dlq_url,
           "OCR_INDEX": settings.index, "OCR_BULK_MAX_DELAY_S": "0.3", "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL_S3", None)
    return {**env, **extra}


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_service_outlives_its_test():
    """Kill the process group of every service a test started (its local Ray included)."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_service(env: dict[str, str], *args: str) -> subprocess.Popen:
    """``ocr-cluster stream`` with its own local Ray, in a process group of its own."""
    cmd = [sys.executable, "-m", "pipeline", "stream", "--cpus", "2", *args]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _STARTED.append(proc)
    return proc


def wait_for(predicate, proc: subprocess.Popen, timeout_s: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        assert proc.poll() is None, f"the service exited early: {proc.stderr.read()[-2000:]}"
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_consumer_killed_between_indexing_and_deleting_does_not_duplicate(stack, settings, sqs, s3):
    from pipeline.devstack.stack import create_resources

    short = create_resources(stack, suffix=f"-kill{int(time.time() * 1000) % 100000}", visibility_timeout_s=3)
    objects = {f"k/{i}.png": inputs.png_page([f"削除前 {i}"]) for i in range(3)}
    upload(s3, short.bucket, objects)
    tuned = settings.model_copy(update={"queue_url": short.queue_url, "dlq_url": short.dlq_url})
    release = threading.Event()

    def is_delete(r: Request) -> bool:
        return r.target.endswith((".DeleteMessage", ".DeleteMessageBatch")) or "Action=DeleteMessage" in r.text()

    def indexed() -> int:
        return sum(indexed_keys(tuned).values())

    hung = []

    def hang_deletes_once_indexed(r: Request) -> object:
        if is_delete(r) and indexed() > 0:
            hung.append(r)
            return Hang(release)
        return None

    with FaultProxy(stack.endpoint) as proxy:
        proxy.rules.append(hang_deletes_once_indexed)
        proc = start_service(service_env(tuned, AWS_ENDPOINT_URL_SQS=proxy.url, OCR_VISIBILITY_TIMEOUT_S="10"))
        try:
            wait_for(lambda: bool(hung), proc, what="a delete after indexing")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            release.set()

    again = subprocess.run([sys.executable, "-m", "pipeline", "stream", "--cpus", "2", "--exit-when-idle", "6"],
                           env=service_env(tuned), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_invariant(tuned, short, sqs, set(objects), {})


def test_sigterm_during_a_long_poll_exits_cleanly_and_strands_nothing(settings, resources, sqs):
    proc = start_service(service_env(settings, OCR_POLL_WAIT_S="20"))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    wait_for(lambda: any('"stream started"' in line for line in lines), proc, what="start-up")
    time.sleep(1.0)  # now inside a 20 s long poll
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody='{"bucket": "b", "key": "late.png"}')
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    assert time.monotonic() - started < 30
    assert queue_depth(sqs, resources.queue_url) == (1, 0), "the late message is visible again, not in flight"


def test_sigterm_during_ocr_flushes_the_partial_batch_and_releases_the_rest(settings, resources, s3, sqs):
    objects = {f"flush/{i}.png": inputs.png_page([f"保存試験 {i}", f"flush test {i}"]) for i in range(8)}
    upload(s3, resources.bucket, objects)
    env = service_env(settings, OCR_BULK_MAX_DELAY_S="60", OCR_BULK_MAX_DOCS="1000", OCR_DRAIN_TIMEOUT_S="1",
                      OCR_ENGINE="tests.fault.engines:SlowEngine")  # 1.5 s a page
    SLOW_PAGES.unlink(missing_ok=True)
    proc = start_service(env)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    # two pages read and held in the bulk batch (60 s delay), more in the engines
    wait_for(lambda: SLOW_PAGES.exists() and len(SLOW_PAGES.read_text().splitlines()) >= 2, proc, what="two pages")
    assert sum(indexed_keys(settings).values()) == 0, "nothing flushed yet"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    flushed = sum(indexed_keys(settings).values())
    assert 2 <= flushed < len(objects), "the partial batch was flushed at shutdown"
    assert queue_depth(sqs, resources.queue_url)[1] == 0, "the unfinished messages were released, not stranded"

    rerun = subprocess.run([sys.executable, "-m", "pipeline", "stream", "--cpus", "2", "--exit-when-idle", "4"],
                           env=service_env(settings), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_invariant(settings, resources, sqs, set(objects), {})
