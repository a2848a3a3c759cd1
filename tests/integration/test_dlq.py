"""The DLQ after a fix, on the local stack: inspect (nothing consumed), reprocess (delete only
what succeeded, re-reason the rest), redrive (by error class through receive/send/delete on moto;
StartMessageMoveTask through botocore's Stubber)."""

from __future__ import annotations

import json

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber

from pipeline.batch.reprocess import redrive, reprocess
from pipeline.cli import main
from pipeline.models import Job
from pipeline.sources.sqs import Message, SqsQueue, native_body, parse_body
from tests import inputs
from tests.helpers import dlq_reasons, indexed_keys, queue_depth, upload


def _fill_dlq(sqs, resources, s3) -> dict[str, str]:
    """Objects in the bucket and one DLQ message per case: {key or body: error class it was given}."""
    upload(s3, resources.bucket, {"d/ok 1.png": inputs.png_page(["短い 1"]), "d/ok+2.png": inputs.png_page(["短い 2"]),
                                  "d/broken.png": inputs.truncated(inputs.png_page(["短い 3"]))})
    sqs.purge_queue(QueueUrl=resources.queue_url)  # the uploads' own events are not part of this story
    queue = SqsQueue(sqs, resources.queue_url, resources.dlq_url)
    cases = {"d/ok 1.png": "StorageUnavailable", "d/ok+2.png": "IndexUnavailable", "d/broken.png": "CorruptDocument",
             "not json at all": "BadMessage"}
    for name, error_class in cases.items():
        body = name if " at all" in name else native_body(Job(resources.bucket, name))
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=body)
        message = queue.receive(1, wait_s=0)[0]
        queue.dead_letter(message, error_class, f"{error_class} before the fix")
    return cases


pytestmark = [pytest.mark.stack]


def test_inspect_groups_by_class_and_consumes_nothing(settings, resources, s3, sqs, capsys):
    _fill_dlq(sqs, resources, s3)
    sqs.send_message(QueueUrl=resources.dlq_url, MessageBody="{}")  # as SQS's redrive policy leaves it

    assert main(["dlq", "inspect", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"StorageUnavailable": 1, "IndexUnavailable": 1, "CorruptDocument": 1,
                                "BadMessage": 1, "MaxReceiveCountExceeded": 1}
    assert report["examples"]["CorruptDocument"] == ["CorruptDocument before the fix"]
    assert queue_depth(sqs, resources.dlq_url) == (5, 0)
    assert main(["dlq", "inspect"]) == 0
    assert "MaxReceiveCountExceeded" in capsys.readouterr().out


@pytest.mark.ray
@pytest.mark.tesseract
def test_reprocess_deletes_what_succeeded_and_re_reasons_the_rest(settings, resources, s3, sqs, ray_local, tmp_path):
    _fill_dlq(sqs, resources, s3)

    result = reprocess(settings, sqs, resources.dlq_url, progress=False, parquet=str(tmp_path / "out"))

    assert (result.received, result.deleted) == (4, 2)
    assert result.kept == {"CorruptDocument": 1, "BadMessage": 1}
    assert indexed_keys(settings) == {"d/ok 1.png": 1, "d/ok+2.png": 1}
    left = dlq_reasons(sqs, resources.dlq_url)
    assert set(left) == {"d/broken.png", "not json at all"}
    assert left["d/broken.png"].startswith("CorruptDocument: reprocessed: ")
    assert "before the fix" not in left["d/broken.png"]
    assert left["not json at all"].startswith("BadMessage: reprocessed: ")
    assert queue_depth(sqs, resources.dlq_url) == (2, 0)
    documents = pq.read_table(tmp_path / "out" / "documents").to_pylist()
    assert sorted(d["key"] for d in documents) == ["d/ok 1.png", "d/ok+2.png"]
    failures = pq.read_table(tmp_path / "out" / "failures").to_pylist()
    assert [(f["key"], f["error_class"]) for f in failures] == [("d/broken.png", "CorruptDocument")]


def test_redrive_by_error_class_moves_only_that_class(settings, resources, s3, sqs):
    _fill_dlq(sqs, resources, s3)

    result = redrive(sqs, resources.dlq_url, resources.queue_url, ("StorageUnavailable", "IndexUnavailable"))

    assert (result.method, result.moved, result.left) == ("copy", 2, 2)
    moved = SqsQueue(sqs, resources.queue_url).receive(10, wait_s=0)
    assert sorted(parse_body(m.body)[0].key for m in moved) == ["d/ok 1.png", "d/ok+2.png"]
    assert all("ErrorClass" not in m.attributes for m in moved)
    assert set(dlq_reasons(sqs, resources.dlq_url)) == {"d/broken.png", "not json at all"}


def test_redrive_of_everything_falls_back_to_copying_where_move_tasks_are_missing(settings, resources, s3, sqs,
                                                                                   capsys):
    _fill_dlq(sqs, resources, s3)

    assert main(["dlq", "redrive"]) == 0

    assert "moved 4 message(s)" in capsys.readouterr().out
    assert queue_depth(sqs, resources.dlq_url) == (0, 0)
    assert queue_depth(sqs, resources.queue_url)[0] == 4


def test_redrive_of_everything_uses_start_message_move_task_where_sqs_has_it():
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                       endpoint_url="https://sqs.us-east-1.amazonaws.com")
    dlq_url, queue_url = "https://sqs.us-east-1.amazonaws.com/1/dlq", "https://sqs.us-east-1.amazonaws.com/1/q"
    with Stubber(sqs) as stub:
        for url, name in ((dlq_url, "dlq"), (queue_url, "q")):
            stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:1:{name}"}},
                              {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
        stub.add_response("start_message_move_task", {"TaskHandle": "handle-1"},
                          {"SourceArn": "arn:aws:sqs:us-east-1:1:dlq", "DestinationArn": "arn:aws:sqs:us-east-1:1:q"})

        result = redrive(sqs, dlq_url, queue_url)

        stub.assert_no_pending_responses()
    assert (result.method, result.task_handle) == ("move-task", "handle-1")


def test_a_move_task_refused_for_another_reason_is_an_error_not_a_silent_copy():
    from botocore.exceptions import ClientError

    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(sqs) as stub:
        for name in ("dlq", "q"):
            stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:1:{name}"}})
        stub.add_client_error("start_message_move_task", "AccessDenied", http_status_code=403)
        with pytest.raises(ClientError):
            redrive(sqs, "https://sqs/1/dlq", "https://sqs/1/q")


def test_message_attributes_of_a_received_message_survive_a_copy():
    from pipeline.batch.reprocess import _attributes

    message = Message("id", "h", "{}", attributes={"ErrorClass": "X", "ErrorReason": "r", "Source": "uploader"})
    assert _attributes(message) == {"MessageAttributes": {"Source": {"DataType": "String", "StringValue": "uploader"}}}
