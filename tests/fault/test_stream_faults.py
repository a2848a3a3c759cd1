"""The fault matrix on the stream service (local stack, real Ray and Tesseract): each test breaks
one thing and ends on the invariant — every object indexed once or dead-lettered with a reason."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from pipeline.devstack.samples import encode, render_page
from tests import inputs
from tests.fault.engines import CRASH_FLAG, CRASH_WIDTH, HANG_WIDTH
from tests.fault.invariant import assert_invariant
from tests.fault.proxy import FaultProxy, Request, Reset, Respond, Truncate
from tests.helpers import indexed_keys, run_until_idle, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract]

ACCESS_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                 b"<Message>Access Denied</Message></Error>")
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")


def pages(n: int, prefix: str = "p") -> dict[str, bytes]:
    return {f"{prefix}/{i}.png": encode(render_page([f"試験 {prefix} {i}", f"test {i}"]), "PNG") for i in range(n)}


def is_get_object(r: Request) -> bool:
    return r.method == "GET" and "/p/" in r.path and "list-type" not in r.path


@pytest.fixture
def s3_proxy(stack, monkeypatch):
    """A fault proxy in front of moto's S3, used by the OCR workers."""
    with FaultProxy(stack.endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        yield proxy


def test_poison_inputs_are_dead_lettered_with_their_class(settings, resources, s3, sqs, s3_proxy, ray_local):
    dense = render_page(["密な文章の行です。" * 8] * 60, width=2400, font_size=28)
    bad = {
        "poison/zero.png": (b"", "EmptyObject"),
        "poison/truncated.jpg": (inputs.truncated(encode(render_page(["x"]).convert("RGB"), "JPEG")),
                                 "CorruptDocument"),
        "poison/truncated.png": (inputs.truncated(inputs.png_page()), "CorruptDocument"),
        "poison/bomb.png": (inputs.png_claiming(200_000, 200_000), "ImageTooLarge"),
        "poison/gif-extent.gif": (inputs.gif_extent_bomb(), "ImageTooLarge"),
        "poison/50k.png": (inputs.png_claiming(50_000, 50_000), "ImageTooLarge"),
        "poison/5000-pages.pdf": (inputs.many_pages_pdf(5000), "TooManyPages"),
        "poison/encrypted.pdf": (inputs.encrypted_pdf(), "EncryptedDocument"),
        "poison/malformed.pdf": (inputs.MALFORMED_PDF, "CorruptDocument"),
        "poison/claims-image.png": (inputs.NOT_AN_IMAGE, "UnsupportedType"),
        "poison/archive.zip": (inputs.ZIP_FILE, "UnsupportedType"),
        "poison/slow-page.png": (encode(dense, "PNG"), "EngineTimeout"),
    }
    good = {"ok/page.png": inputs.png_page(), "ok/huge-page.pdf": _huge_pdf_page()}
    upload(s3, resources.bucket, {**good, **{k: v for k, (v, _) in bad.items()}})
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody="{not json")
    denied = json.dumps({"bucket": "forbidden-bucket", "key": "secret/report.png"})
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=denied)
    s3_proxy.rules.append(lambda r: Respond(403, ACCESS_DENIED, {"Content-Type": "application/xml"})
                          if r.path.startswith("/forbidden-bucket") else None)

    # the dense page takes ~11 CPU s of the engine (jpn; 40 lines of 45 took 2.4 s, under the
    # time-out on a quiet machine), the good ones 0.15-0.35 s: 2.5 s sits between them with room
    # for a loaded machine on both sides
    run_until_idle(settings.model_copy(update={"page_timeout_s": 2.5, "max_pixels": 8_000_000}))

    expected = {k: cls for k, (_, cls) in bad.items()}
    expected.update({"{not json": "BadMessage", "secret/report.png": "AccessDenied"})
    assert_invariant(settings, resources, sqs, set(good), expected)


def _huge_pdf_page() -> bytes:
    """An image-only PDF page of 120 x 29 inches: 310 Mpx at 300 dpi, so it is rendered smaller."""
    import io

    buf = io.BytesIO()
    render_page(["巨大な頁", "huge page"]).save(buf, "PDF", resolution=10.0)
    return buf.getvalue()


def test_a_worker_killed_mid_page_loses_nothing(settings, resources, s3, sqs, ray_local):
    objects = pages(6)
    upload(s3, resources.bucket, objects)
    from pipeline.stream.build import build_stream

    service = build_stream(settings.model_copy(update={"engine": "tests.fault.engines:SlowEngine"}),
                           exit_when_idle_s=8)
    import ray

    pids = [pid for pid, *_ in ray.get([slot.handle.ready.remote() for slot in service.pool.slots.values()])]
    killer = threading.Timer(2.0, os.kill, (pids[0], signal.SIGKILL))
    killer.start()
    assert service.run() == 0
    assert service.counts["released"] >= 1, "the lost page's message was released for a retry"
    assert service.pool.created > len(pids), "the dead worker was replaced"
    assert_invariant(settings, resources, sqs, set(objects), {})


def test_an_actor_that_crashes_is_replaced_and_its_page_retried(settings, resources, s3, sqs, ray_local):
    CRASH_FLAG.unlink(missing_ok=True)
    objects = pages(3)
    objects["crash/marked.png"] = encode(render_page(["クラッシュ 試験"], width=CRASH_WIDTH), "PNG")
    upload(s3, resources.bucket, objects)

    service = run_until_idle(settings.model_copy(update={"engine": "tests.fault.engines:CrashOnceEngine"}), 8)

    assert CRASH_FLAG.exists(), "the crash happened"
    # released: the crashed worker's tasks only (the page it was reading, and at most the other task
    # it ran meanwhile: the pool gives a worker per_worker tasks), never the other workers' messages
    released = service.counts["released"]
    assert released >= 1, "the crashed worker's page was released for a retry"
    assert released <= service.pool.per_worker, "only the crashed worker's tasks were released"
    assert released < len(objects), "never every message"
    assert indexed_keys(settings)["crash/marked.png"] == 1, "the crashed page was read again and indexed once"
    assert_invariant(settings, resources, sqs, set(objects), {})


def test_a_task_hung_past_its_deadline_is_stopped_and_dead_lettered(settings, resources, s3, sqs, ray_local):
    """An engine (or decoder) that never returns: the pool stops the worker once the task is far past
    its deadline; that message goes to the DLQ as EngineTimeout (retrying would hang again), the
    worker is replaced and the other objects are indexed."""
    from pipeline.stream.build import build_stream

    objects = pages(3)
    hung = {"hang/marked.png": encode(render_page(["停止 試験"], width=HANG_WIDTH), "PNG")}
    upload(s3, resources.bucket, {**objects, **hung})
    # one worker, so the task that waits behind the hung one on it dies with it (WorkerLost) and is
    # released for a retry 5 s later (ledger.retry_delay): idle for 10 s, the service still sees it
    tuned = settings.model_copy(update={"engine": "tests.fault.engines:HangOnWidthEngine", "ocr_workers": 1})
    service = build_stream(tuned, exit_when_idle_s=10)
    service.pool.task_deadline_s = 6.0  # the service's own is 3 page time-outs + 60 s
    created = service.pool.created

    assert service.run() == 0

    assert service.pool.created > created, "the stopped worker was replaced"
    assert_invariant(settings, resources, sqs, set(objects), {"hang/marked.png": "EngineTimeout"})
    assert service.counts["dead-lettered"] == 1


def test_a_job_longer_than_the_visibility_timeout_is_not_picked_up_twice(stack, settings, s3, sqs, ray_local):
    from pipeline.devstack.stack import create_resources

    short = create_resources(stack, suffix="-vis" + str(int(time.time() * 1000) % 100000), visibility_timeout_s=3)
    doc = {"long/fax.tiff": encode([render_page([f"頁 {i}"]) for i in range(6)], "TIFF")}
    upload(s3, short.bucket, doc)
    tuned = settings.model_copy(update={"queue_url": short.queue_url, "dlq_url": short.dlq_url, "heartbeat_s": 1.0,
                                        "visibility_timeout_s": 4, "engine": "tests.fault.engines:SlowEngine"})

    service = run_until_idle(tuned, 3)

    assert len(service.records) == 1, "processed once"
    assert service.records[0]["received_at"] + 3 < service.records[0]["indexed_at"], "longer than the visibility"
    assert_invariant(tuned, short, sqs, set(doc), {})


def test_an_opensearch_outage_delays_but_loses_nothing(stack, settings, resources, s3, sqs, ray_local):
    objects = pages(4)
    upload(s3, resources.bucket, objects)
    refused = iter(range(2))  # the writer's two tries (bulk_retries 1) of the first batch, whenever it comes
    with FaultProxy(stack.opensearch_url) as proxy:
        proxy.rules.append(lambda r: Reset() if "_bulk" in r.path and next(refused, None) is not None else None)
        through_proxy = settings.model_copy(update={"opensearch_url": proxy.url, "bulk_retries": 1,
                                                    "opensearch_timeout_s": 2})
        service = run_until_idle(through_proxy, 8)
    assert service.counts["released"] >= 1, "the outage outlasted the writer's retries"
    assert_invariant(settings, resources, sqs, set(objects), {})


def test_s3_throttling_and_truncated_downloads_are_retried(settings, resources, s3, sqs, s3_proxy, ray_local):
    objects = pages(4)
    upload(s3, resources.bucket, objects)
    faults = iter([Respond(503, SLOW_DOWN, {"Content-Type": "application/xml"})] * 4 + [Truncate(100)] * 2)
    lock = threading.Lock()

    def rule(r: Request) -> object:
        if not is_get_object(r):
            return None
        with lock:
            return next(faults, None)

    s3_proxy.rules.append(rule)
    run_until_idle(settings, 8)
    assert s3_proxy.count(is_get_object) > len(objects)
    assert_invariant(settings, resources, sqs, set(objects), {})


def test_an_object_deleted_before_its_fetch_is_dead_lettered(settings, resources, s3, sqs, ray_local):
    upload(s3, resources.bucket, {"gone/page.png": inputs.png_page(), "kept/page.png": inputs.png_page()})
    s3.delete_object(Bucket=resources.bucket, Key="gone/page.png")
    run_until_idle(settings)
    assert_invariant(settings, resources, sqs, {"kept/page.png"}, {"gone/page.png": "ObjectMissing"})
