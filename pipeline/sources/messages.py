"""SQS bodies to jobs: S3 event notifications (direct or wrapped in SNS), the ``s3:TestEvent``,
and the native form ``{"bucket": ..., "key": ..., "version_id": ...}``.

S3 event keys are URL-encoded with ``+`` for space; ``unquote_plus`` gives the key as stored.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from pipeline.errors import BadMessage
from pipeline.models import Job

MAX_KEY_BYTES = 1024


def parse_body(body: str) -> list[Job]:
    """Every job one SQS body names; ``[]`` for a test event. Raises :class:`BadMessage`."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"the message body is not JSON ({exc}): {_preview(body)}") from None
    if not isinstance(data, dict):
        raise BadMessage(f"the message body is JSON but not an object: {_preview(body)}")
    if data.get("Type") == "Notification" and "Message" in data:
        return parse_body(str(data["Message"]))
    if data.get("Event") == "s3:TestEvent":
        return []
    if "Records" in data:
        return [_job_from_record(r) for r in _records(data["Records"])]
    if "bucket" in data and "key" in data:
        return [_native_job(data)]
    raise BadMessage(f"the message is neither an S3 event nor {{bucket, key}}: {_preview(body)}")


def _records(records: Any) -> list[dict[str, Any]]:
    if not isinstance(records, list) or not records:
        raise BadMessage("the S3 event has no records")
    return [r for r in records if isinstance(r, dict) and _is_object_created(r)]


def _is_object_created(record: dict[str, Any]) -> bool:
    name = str(record.get("eventName", "ObjectCreated:"))
    return name.startswith("ObjectCreated:") or name.startswith("ObjectRestore:Completed")


def _job_from_record(record: dict[str, Any]) -> Job:
    try:
        s3 = record["s3"]
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        key = unquote_plus(obj["key"])
    except (KeyError, TypeError) as exc:
        raise BadMessage(f"the S3 event record lacks {exc}") from None
    return _checked(
        Job(
            bucket=bucket,
            key=key,
            version_id=str(obj.get("versionId") or ""),
            etag=str(obj.get("eTag") or "").strip('"'),
            size=_int_or_none(obj.get("size")),
            sequencer=str(obj.get("sequencer") or ""),
        )
    )


def _native_job(data: dict[str, Any]) -> Job:
    return _checked(
        Job(
            bucket=str(data["bucket"]),
            key=str(data["key"]),
            version_id=str(data.get("version_id") or ""),
            etag=str(data.get("etag") or "").strip('"'),
            size=_int_or_none(data.get("size")),
        )
    )


def _checked(job: Job) -> Job:
    if not job.bucket or not job.key:
        raise BadMessage("the message names an empty bucket or key")
    if len(job.key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise BadMessage(f"the key is longer than S3's {MAX_KEY_BYTES} bytes")
    return job


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _preview(body: object, limit: int = 120) -> str:
    text = repr(body)
    return text if len(text) <= limit else text[:limit] + "…"


def native_body(job: Job) -> str:
    """The native message for a job (used by redrive, smoke and tests)."""
    return json.dumps({"bucket": job.bucket, "key": job.key, "version_id": job.version_id}, ensure_ascii=False)
