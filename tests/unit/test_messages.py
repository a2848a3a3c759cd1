"""SQS bodies -> jobs: every form we accept, and readable refusals."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from pipeline.errors import BadMessage
from pipeline.models import Job
from pipeline.sources.sqs import native_body, parse_body

HOSTILE_KEYS = [
    "scans/with space.png",
    "scans/a+b.png",
    "scans/100% done.pdf",
    "請求書/２０２４年 請求書.pdf",
    "../../etc/passwd",
    "x/" + "k" * 1022,
    "emoji 📄 file.tiff",
]


def s3_event(key: str, bucket: str = "b", **obj: object) -> str:
    """An S3 event notification as S3 sends it (key URL-encoded, + for space)."""
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/"), **obj}},
    }
    return json.dumps({"Records": [record]})


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_s3_event_keys_are_decoded_as_stored(key: str) -> None:
    jobs = parse_body(s3_event(key, size=12, eTag="abc", versionId="v1", sequencer="00A"))
    assert jobs == [Job("b", key, version_id="v1", etag="abc", size=12, sequencer="00A")]


def test_several_records_in_one_message() -> None:
    a, b = json.loads(s3_event("a.png")), json.loads(s3_event("b.png"))
    body = json.dumps({"Records": a["Records"] + b["Records"]})
    assert [j.key for j in parse_body(body)] == ["a.png", "b.png"]


def test_sns_wrapped_event() -> None:
    body = json.dumps({"Type": "Notification", "Message": s3_event("x y.png")})
    assert parse_body(body)[0].key == "x y.png"


def test_test_event_is_ignored() -> None:
    assert parse_body(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})) == []


def test_removal_events_name_no_job() -> None:
    event = json.loads(s3_event("gone.png"))
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert parse_body(json.dumps(event)) == []


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_native_form_round_trips(key: str) -> None:
    job = Job("bucket", key, version_id="3")
    assert parse_body(native_body(job)) == [job]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("not json at all", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"hello": "world"}', "neither an S3 event"),
        ('{"Records": []}', "no records"),
        ('{"Records": [{"s3": {}}]}', "lacks"),
        ('{"bucket": "b", "key": ""}', "empty bucket or key"),
        (json.dumps({"bucket": "b", "key": "k" * 1025}), "1024"),
    ],
)
def test_bad_bodies_are_permanent_with_a_reason(body: str, words: str) -> None:
    with pytest.raises(BadMessage) as err:
        parse_body(body)
    assert words in err.value.reason
    assert err.value.error_class == "BadMessage"
    assert not err.value.retryable


def test_document_id_is_deterministic_and_bounded() -> None:
    long_key = "k" * 1024
    a = Job("b", long_key, version_id="v1")
    assert a.doc_id == Job("b", long_key, version_id="v1").doc_id
    assert a.doc_id != Job("b", long_key, version_id="v2").doc_id
    assert len(a.doc_id.encode()) == 64 < 512
    assert Job("b", "k", etag='"e1"').doc_id == Job("b", "k", etag="e1").doc_id
