"""SQS: receive batches, extend visibility (heartbeat), delete, release, dead-letter.

A permanent failure is sent to the DLQ at once with ``ErrorClass`` and ``ErrorReason`` message
attributes and the original deleted; a transient one is released (visibility set to a backoff) so
SQS redelivers it and, after the queue's ``maxReceiveCount``, moves it to the DLQ by its redrive
policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError

MAX_REASON = 1000


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
