"""SQS: what a message's body names (jobs), receive batches, extend visibility (heartbeat), delete,
release, dead-letter.

Bodies: S3 event notifications (direct or wrapped in SNS), the ``s3:TestEvent``, and the native
form ``{"bucket": ..., "key": ..., "version_id": ...}``; S3 event keys are URL-encoded with ``+``
for space (``unquote_plus`` gives the key as stored).

A permanent failure is sent to the DLQ at once with ``ErrorClass`` and ``ErrorReason`` message
attributes and the original deleted; a transient one is released (visibility set to a backoff) so
SQS redelivers it and, after the queue's ``maxReceiveCount``, moves it to the DLQ by its redrive
policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from pipeline.errors import BadMessage, ConfigError
from pipeline.models import Job

MAX_REASON = 1000
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


@dataclass
class Message:
    """One received SQS message."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1
    attributes: dict[str, str] = field(default_factory=dict)
    sent_at: float = 0.0  # epoch seconds SQS accepted it (SentTimestamp)

    @classmethod
    def from_response(cls, raw: dict[str, Any]) -> Message:
        """Build from one entry of ``ReceiveMessage``'s answer."""
        attrs = raw.get("Attributes", {})
        return cls(
            message_id=raw["MessageId"],
            receipt_handle=raw["ReceiptHandle"],
            body=raw.get("Body", ""),
            receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
            attributes={k: v.get("StringValue", "") for k, v in raw.get("MessageAttributes", {}).items()},
            sent_at=int(attrs.get("SentTimestamp", 0)) / 1000,
        )


def queue_arn(sqs: Any, url: str) -> str:
    """A queue's ARN."""
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


class SqsQueue:
    """The work queue and its dead-letter queue."""

    def __init__(self, sqs: Any, queue_url: str, dlq_url: str = "") -> None:
        if not queue_url:
            raise ConfigError("no queue: set OCR_QUEUE_URL")
        self.sqs = sqs
        self.url = queue_url
        self._dlq_url = dlq_url
        self._max_receive: int | None = None

    def receive(self, max_messages: int = 10, wait_s: int = 20, visibility_s: int | None = None) -> list[Message]:
        """Long-poll up to ``max_messages`` (1-10)."""
        kwargs: dict[str, Any] = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": max(1, min(10, max_messages)),
            "WaitTimeSeconds": wait_s,
            "AttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
            "MessageAttributeNames": ["All"],
        }
        if visibility_s is not None:
            kwargs["VisibilityTimeout"] = visibility_s
        response = self.sqs.receive_message(**kwargs)
        return [Message.from_response(m) for m in response.get("Messages", [])]

    def receive_all(self, hold_s: int, limit: int | None = None) -> list[Message]:
        """Receive until the queue answers empty (or ``limit``); each message stays held ``hold_s``."""
        seen: dict[str, Message] = {}
        while limit is None or len(seen) < limit:
            want = 10 if limit is None else min(10, limit - len(seen))
            batch = self.receive(want, wait_s=0, visibility_s=hold_s)
            if not batch:
                break
            seen.update((m.message_id, m) for m in batch)
        return list(seen.values())

    def delete(self, message: Message) -> None:
        """Done: remove the message for good."""
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    def delete_many(self, messages: list[Message]) -> list[Message]:
        """Delete in batches of ten; returns the messages SQS did not delete (they come back later)."""
        failed: list[Message] = []
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            response = self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(batch)],
            )
            failed += [batch[int(f["Id"])] for f in response.get("Failed", [])]
        return failed

    def extend(self, messages: list[Message], visibility_s: int) -> None:
        """Heartbeat: keep in-flight messages invisible for another ``visibility_s``."""
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": visibility_s}
                    for i, m in enumerate(batch)
                ],
            )

    def release(self, message: Message, delay_s: int = 0) -> None:
        """Give the message back for a retry after ``delay_s`` (0: at once)."""
        self.sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=max(0, min(delay_s, 43200))
        )

    def dead_letter(
        self, message: Message, error_class: str, reason: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Send the message to the DLQ with its reason, then delete the original."""
        attributes = {
            "ErrorClass": {"DataType": "String", "StringValue": error_class},
            "ErrorReason": {"DataType": "String", "StringValue": reason[:MAX_REASON] or error_class},
            "OriginalMessageId": {"DataType": "String", "StringValue": message.message_id},
            "ReceiveCount": {"DataType": "Number", "StringValue": str(message.receive_count)},
        }
        if detail:
            text = json.dumps(detail, ensure_ascii=False)[:MAX_REASON]
            attributes["ErrorDetail"] = {"DataType": "String", "StringValue": text}
        self.sqs.send_message(
            QueueUrl=self.dlq_url, MessageBody=message.body or "(empty body)", MessageAttributes=attributes
        )
        self.delete(message)

    @property
    def dlq_url(self) -> str:
        """The DLQ: configured, or read from the queue's redrive policy."""
        if not self._dlq_url:
            self._dlq_url = self._queue_url_of(self._redrive_policy()["deadLetterTargetArn"])
        return self._dlq_url

    @property
    def max_receive_count(self) -> int:
        """The redrive policy's ``maxReceiveCount``."""
        if self._max_receive is None:
            self._max_receive = int(self._redrive_policy()["maxReceiveCount"])
        return self._max_receive

    def _redrive_policy(self) -> dict[str, Any]:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["RedrivePolicy"])
        raw = attrs.get("Attributes", {}).get("RedrivePolicy")
        if not raw:
            raise ConfigError(f"the queue {self.url} has no redrive policy (a DLQ is required)")
        return json.loads(raw)

    def _queue_url_of(self, arn: str) -> str:
        parts = arn.split(":")
        return self.sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]

    def depth(self) -> dict[str, int]:
        """Visible, in-flight and delayed counts (approximate, as SQS reports them)."""
        names = {"visible": "ApproximateNumberOfMessages", "in_flight": "ApproximateNumberOfMessagesNotVisible",
                 "delayed": "ApproximateNumberOfMessagesDelayed"}
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=list(names.values()))["Attributes"]
        return {key: int(attrs.get(name, 0)) for key, name in names.items()}
