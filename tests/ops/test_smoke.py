"""``smoke`` with moto (S3 -> SQS notification) and osmem-server (a real OpenSearch-compatible
server). No OCR service runs here: a stand-in indexer thread reads the S3 event from the
queue and writes the document the service would write; the time-out path runs without it."""

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
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    return {"s3": s3, "sqs": sqs, "name": name, "queue": queue}


def fake_indexer(sqs: Any, queue: str, search: Any, stop: threading.Event) -> None:
    """What the stream service does, minus OCR: S3 event in, document with its key out."""
    while not stop.is_set():
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            for record in json.loads(message["Body"]).get("Records", []):
                key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
                body = {"key": key, "bucket": record["s3"]["bucket"]["name"], "text": smoke.SMOKE_TEXT}
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
        result = smoke.run(
            bucket["s3"], search, bucket=bucket["name"], index=index, timeout_s=30, poll_s=0.2, report=lambda _: None
        )
    finally:
        stop.set()
        worker.join(timeout=10)
    assert result.key.startswith("smoke/ocr-smoke-") and result.document_ids == [f"doc-{result.key}"]
    assert objects(bucket["s3"], bucket["name"]) == []
    search.indices.refresh(index=index)
    assert search.count(index=index)["count"] == 0


def test_timeout_fails_and_still_removes_the_object(bucket: dict[str, Any], search: Any, index: str) -> None:
    with pytest.raises(smoke.SmokeFailed, match="not searchable") as caught:
        smoke.run(
            bucket["s3"], search, bucket=bucket["name"], index=index, timeout_s=0.5, poll_s=0.1, report=lambda _: None
        )
    assert caught.value.exit_code == 1
    assert objects(bucket["s3"], bucket["name"]) == []
    announced = bucket["sqs"].receive_message(QueueUrl=bucket["queue"], WaitTimeSeconds=1).get("Messages", [])
    assert announced, "the upload was announced on the queue (S3 notification)"
