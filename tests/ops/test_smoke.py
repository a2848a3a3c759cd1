"""``smoke`` against what really indexes: the stream service (``build_stream``, the real engine)
on the session's local stack, its bucket announcing new objects on the queue only under the
source prefix, as Terraform sets the notification. The service runs beside ``smoke`` in a thread
until the queue is quiet; a misreading engine (``OCR_ENGINE`` seam) stands for OCR gone wrong;
the time-out path runs with no service at all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.ops import smoke
from pipeline.settings import Settings
from tests.helpers import queue_depth

pytestmark = [pytest.mark.stack]

SOURCE_PREFIX = "incoming/"  # terraform.tfvars.example's source_prefix: what the notification announces
SMOKE_PREFIX = f"{SOURCE_PREFIX}smoke/"  # what Terraform writes to OCR_SMOKE_PREFIX


@pytest.fixture
def bucket(resources: Any, s3: Any, sqs: Any) -> dict[str, Any]:
    """This test's bucket, announcing new objects under SOURCE_PREFIX only (terraform/modules/queue)."""
    arn = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=resources.bucket,
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": SOURCE_PREFIX}]}},
        }]},
    )
    return {"s3": s3, "sqs": sqs, "name": resources.bucket, "queue": resources.queue_url}


@pytest.fixture
def search(opensearch: Any) -> Any:
    """The OpenSearch client smoke searches with (osmem-server)."""
    return opensearch


def with_service(settings: Settings, run: Callable[[], Any]) -> Any:
    """``run()`` while the stream service serves the queue; the service then runs until it is
    quiet and must exit 0."""
    from pipeline.stream.build import build_stream

    service = build_stream(settings.model_copy(update={"ocr_workers": 1}), exit_when_idle_s=1)  # one page
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(service.run()), daemon=True)
    thread.start()
    try:
        return run()
    finally:
        thread.join(timeout=60)
        assert codes == [0], "the stream service did not exit cleanly"


def objects(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_smoke_png_is_a_png_with_room_for_text() -> None:
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(smoke.smoke_png()))
    assert image.format == "PNG" and image.width > 600 and image.getextrema() == (0, 255)


@pytest.mark.ray
@pytest.mark.tesseract
def test_document_becomes_searchable_then_everything_is_removed(
    bucket: dict[str, Any], search: Any, settings: Settings, ray_local: None
) -> None:
    result = with_service(settings, lambda: smoke.run(
        bucket["s3"], search, bucket=bucket["name"], index=settings.index, prefix=SMOKE_PREFIX, timeout_s=60,
        poll_s=0.2, report=lambda _: None))
    assert result.key.startswith(f"{SMOKE_PREFIX}ocr-smoke-") and len(result.document_ids) == 1
    assert objects(bucket["s3"], bucket["name"]) == []
    search.indices.refresh(index=settings.index)
    assert search.count(index=settings.index)["count"] == 0, "the service indexed it once, smoke removed it"
    assert queue_depth(bucket["sqs"], bucket["queue"]) == (0, 0), "the service settled the announcement"


def test_timeout_fails_and_still_removes_the_object(bucket: dict[str, Any], search: Any, settings: Settings) -> None:
    """No service runs: nothing is indexed."""
    with pytest.raises(smoke.SmokeFailed, match="not searchable") as caught:
        smoke.run(bucket["s3"], search, bucket=bucket["name"], index=settings.index, prefix=SMOKE_PREFIX,
                  timeout_s=0.5, poll_s=0.1, report=lambda _: None)
    assert caught.value.exit_code == 1
    assert objects(bucket["s3"], bucket["name"]) == []
    announced = bucket["sqs"].receive_message(QueueUrl=bucket["queue"], WaitTimeSeconds=1).get("Messages", [])
    assert announced, "the upload was announced on the queue (S3 notification)"


@pytest.mark.ray
@pytest.mark.tesseract
def test_a_document_without_the_pages_words_fails(
    bucket: dict[str, Any], search: Any, settings: Settings, ray_local: None
) -> None:
    """Indexed is not enough: a text without the page's words means OCR did not run right."""
    misreading = settings.model_copy(update={"engine": "tests.fault.engines:MisreadEngine"})
    with pytest.raises(smoke.SmokeFailed, match="lacks SMOKE"):
        with_service(misreading, lambda: smoke.run(
            bucket["s3"], search, bucket=bucket["name"], index=settings.index, prefix=SMOKE_PREFIX, timeout_s=60,
            poll_s=0.2, report=lambda _: None))
    assert objects(bucket["s3"], bucket["name"]) == []


def test_the_real_engine_reads_every_word_of_the_smoke_page() -> None:
    from io import BytesIO
    from pathlib import Path

    from PIL import Image

    from pipeline.engine.ocr import get_engine

    tessdata = "/usr/share/tesseract-ocr/5/tessdata"
    if not (Path(tessdata) / "jpn.traineddata").exists():
        pytest.skip("Debian's language data is not installed here")
    text = get_engine("jpn+eng", tessdata).recognise(Image.open(BytesIO(smoke.smoke_png())), 60).text
    assert smoke.missing_words(text) == [], text


@pytest.mark.ray
@pytest.mark.tesseract
def test_cli_takes_the_prefix_from_the_env_file(
    bucket: dict[str, Any], settings: Settings, ray_local: None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline import cli

    for name in ("OCR_SMOKE_BUCKET", "OCR_SMOKE_PREFIX", "OCR_INDEX", "OCR_OPENSEARCH_URL"):
        monkeypatch.setenv(name, "")  # remembered, so what the env file exports is undone after
        monkeypatch.delenv(name)
    env = tmp_path / "env"
    env.write_text(f"OCR_SMOKE_BUCKET={bucket['name']}\nOCR_SMOKE_PREFIX={SMOKE_PREFIX}\nOCR_INDEX={settings.index}\n"
                   f"OCR_OPENSEARCH_URL={settings.opensearch_url}\n")
    code = with_service(settings, lambda: cli.main(["--env-file", str(env), "smoke", "--timeout", "60"]))
    assert code == 0
    assert f"s3://{bucket['name']}/{SMOKE_PREFIX}ocr-smoke-" in capsys.readouterr().err


def test_cli_refuses_without_a_prefix(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No silent smoke/ default, which no notification and no role reaches."""
    from pipeline import cli

    for name in ("OCR_SMOKE_BUCKET", "OCR_SMOKE_PREFIX"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    env = tmp_path / "env"
    env.write_text("OCR_SMOKE_BUCKET=b\n")
    assert cli.main(["--env-file", str(env), "smoke"]) == 2
