"""``smoke`` with moto (S3 -> SQS notification, filtered on the source prefix as Terraform sets
it) and osmem-server (a real OpenSearch-compatible server). No stream service runs here: a
stand-in indexer thread reads the S3 event from the queue and writes the document the service
would write (the text it is given: the smoke page's, as the real engine reads it, or not); the
time-out path runs without it."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from opensearchpy import OpenSearch
from osmem_server import OsmemServer

from pipeline.ops import smoke

INDEX = "documents"
SOURCE_PREFIX = "incoming/"  # terraform.tfvars.example's source_prefix: what the notification announces
SMOKE_PREFIX = f"{SOURCE_PREFIX}smoke/"  # what Terraform writes to OCR_SMOKE_PREFIX


@pytest.fixture(scope="module")
def search() -> Iterator[Any]:
    server = OsmemServer.start(japanese=True)
    try:
        yield OpenSearch(hosts=[server.url])
    finally:
        server.close()


@pytest.fixture
def index(search: Any) -> str:
    if search.indices.exists(index=INDEX):
        search.indices.delete(index=INDEX)
    search.indices.create(index=INDEX, body={"mappings": {"properties": {"key": {"type": "keyword"}}}})
    return INDEX


@pytest.fixture
def bucket(make_client: Any, unique: str) -> dict[str, Any]:
    """A bucket announcing new objects on a queue, as terraform/modules/queue sets up."""
    s3, sqs = make_client("s3"), make_client("sqs")
    name = f"docs-{unique}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    queue = sqs.create_queue(QueueName=f"file-processing-queue-{unique}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": SOURCE_PREFIX}]}},
        }]},
    )
    return {"s3": s3, "sqs": sqs, "name": name, "queue": queue}


def fake_indexer(sqs: Any, queue: str, search: Any, stop: threading.Event, text: str = smoke.SMOKE_TEXT) -> None:
    """What the stream service does, minus OCR: S3 event in, document with its key (and ``text``) out."""
    while not stop.is_set():
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            for record in json.loads(message["Body"]).get("Records", []):
                key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
                body = {"key": key, "bucket": record["s3"]["bucket"]["name"], "text": text}
                search.index(index=INDEX, id=f"doc-{key}", body=body)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def objects(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_smoke_png_is_a_png_with_room_for_text() -> None:
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(smoke.smoke_png()))
    assert image.format == "PNG" and image.width > 600 and image.getextrema() == (0, 255)


def test_document_becomes_searchable_then_everything_is_removed(
    bucket: dict[str, Any], search: Any, index: str
) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=fake_indexer, args=(bucket["sqs"], bucket["queue"], search, stop), daemon=True)
    worker.start()
    try:
        result = smoke.run(bucket["s3"], search, bucket=bucket["name"], index=index, prefix=SMOKE_PREFIX,
                           timeout_s=30, poll_s=0.2, report=lambda _: None)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert result.key.startswith(f"{SMOKE_PREFIX}ocr-smoke-") and result.document_ids == [f"doc-{result.key}"]
    assert objects(bucket["s3"], bucket["name"]) == []
    search.indices.refresh(index=index)
    assert search.count(index=index)["count"] == 0


def test_timeout_fails_and_still_removes_the_object(bucket: dict[str, Any], search: Any, index: str) -> None:
    with pytest.raises(smoke.SmokeFailed, match="not searchable") as caught:
        smoke.run(bucket["s3"], search, bucket=bucket["name"], index=index, prefix=SMOKE_PREFIX, timeout_s=0.5,
                  poll_s=0.1, report=lambda _: None)
    assert caught.value.exit_code == 1
    assert objects(bucket["s3"], bucket["name"]) == []
    announced = bucket["sqs"].receive_message(QueueUrl=bucket["queue"], WaitTimeSeconds=1).get("Messages", [])
    assert announced, "the upload was announced on the queue (S3 notification)"


def _with_indexer(bucket: dict[str, Any], search: Any, text: str, run: Any) -> Any:
    stop = threading.Event()
    worker = threading.Thread(target=fake_indexer, args=(bucket["sqs"], bucket["queue"], search, stop, text),
                              daemon=True)
    worker.start()
    try:
        return run()
    finally:
        stop.set()
        worker.join(timeout=10)


def test_a_document_without_the_pages_words_fails(bucket: dict[str, Any], search: Any, index: str) -> None:
    """Indexed is not enough: an empty or garbled text means OCR did not run right."""
    with pytest.raises(smoke.SmokeFailed, match="lacks CLUSTER SMOKE"):
        _with_indexer(bucket, search, "OCR", lambda: smoke.run(
            bucket["s3"], search, bucket=bucket["name"], index=index, prefix=SMOKE_PREFIX, timeout_s=30,
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


def test_cli_takes_the_prefix_from_the_env_file(
    bucket: dict[str, Any], search: Any, index: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline import cli

    for name in ("OCR_SMOKE_BUCKET", "OCR_SMOKE_PREFIX", "OCR_INDEX", "OCR_OPENSEARCH_URL"):
        monkeypatch.setenv(name, "")  # remembered, so what the env file exports is undone after
        monkeypatch.delenv(name)
    env = tmp_path / "env"
    url = search.transport.hosts[0]
    env.write_text(f"OCR_SMOKE_BUCKET={bucket['name']}\nOCR_SMOKE_PREFIX={SMOKE_PREFIX}\nOCR_INDEX={index}\n"
                   f"OCR_OPENSEARCH_URL=http://{url['host']}:{url['port']}\n")
    code = _with_indexer(bucket, search, smoke.SMOKE_TEXT, lambda: cli.main(
        ["--env-file", str(env), "smoke", "--timeout", "30"]))
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
