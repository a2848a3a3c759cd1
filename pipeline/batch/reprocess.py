"""The DLQ after a fix: reprocess it in batch mode, or move its messages back to the source queue.

*reprocess* drains the DLQ (each message held invisible, with a heartbeat, while it is worked
on), OCRs every job its body names on the batch runtime, deletes a message only when all its jobs
were indexed, and re-sends the rest to the DLQ with the new ``ErrorClass``/``ErrorReason`` (SQS
attributes cannot be edited) before deleting the old copy. A body we cannot read stays as
``BadMessage``.

*redrive* asks SQS to move everything (``StartMessageMoveTask``); with ``--error-class``, or where
that API is missing (moto, some emulators), it receives, sends to the queue and deletes, one
message at a time, leaving the messages of other classes where they were.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pipeline.batch.run import BatchSummary, run_jobs
from pipeline.errors import BadMessage, ConfigError
from pipeline.models import Job
from pipeline.settings import Settings
from pipeline.sources.dlq import error_class_of
from pipeline.sources.sqs import Message, SqsQueue, parse_body, queue_arn

ERROR_ATTRIBUTES = ("ErrorClass", "ErrorReason", "ErrorDetail", "OriginalMessageId", "ReceiveCount")
UNSUPPORTED = {"NotImplemented", "UnsupportedOperation", "InvalidAction", "UnknownOperationException",
               "AWS.SimpleQueueService.UnsupportedOperation", "InternalFailure", "500", "501"}


@contextmanager
def held(queue: SqsQueue, messages: list[Message], hold_s: int) -> Iterator[None]:
    """Keep ``messages`` invisible (extended every third of ``hold_s``) for the duration of the block."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(hold_s / 3):
            queue.extend(messages, hold_s)

    thread = threading.Thread(target=beat, name="dlq-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


@dataclass
class ReprocessResult:
    """What became of the DLQ's messages."""

    received: int = 0
    deleted: int = 0
    kept: dict[str, int] = field(default_factory=dict)  # error class -> messages left in the DLQ
    summary: BatchSummary = field(default_factory=BatchSummary)

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {"received": self.received, "deleted": self.deleted, "kept": self.kept, "batch": self.summary.to_json()}


def reprocess(settings: Settings, sqs: Any, dlq_url: str, limit: int | None = None, hold_s: int = 300,
              workers: int = 0, progress: bool = True, parquet: str = "") -> ReprocessResult:
    """Drain the DLQ into the batch runtime; delete what succeeded, re-reason the rest.

    With ``parquet`` the documents, pages and failures are also written there, as a backfill does.
    """
    dlq = SqsQueue(sqs, dlq_url, dlq_url)  # dead_letter() then sends to the DLQ and deletes the old copy
    messages = dlq.receive_all(hold_s, limit)
    items: list[tuple[Job, str]] = []
    unreadable: dict[str, BadMessage] = {}
    for m in messages:
        try:
            items += [(job, m.message_id) for job in parse_body(m.body)]
        except BadMessage as exc:
            unreadable[m.message_id] = exc
    with held(dlq, messages, hold_s):
        summary = run_jobs(settings, items, parquet=parquet, workers=workers, progress=progress)
    failed = {f["tag"]: f for f in summary.failures}
    result = ReprocessResult(received=len(messages), summary=summary)
    for m in messages:
        error = unreadable.get(m.message_id)
        failure = failed.get(m.message_id)
        if error is None and failure is None:
            dlq.delete(m)
            result.deleted += 1
            continue
        error_class, reason = (error.error_class, error.reason) if error else _class_reason(failure)
        dlq.dead_letter(m, error_class, f"reprocessed: {reason}", {"previous": error_class_of(m)})
        result.kept[error_class] = result.kept.get(error_class, 0) + 1
    return result


def _class_reason(failure: dict[str, Any]) -> tuple[str, str]:
    return failure["error_class"], failure["reason"]


@dataclass
class RedriveResult:
    """What a redrive did: ``method`` is ``move-task`` (SQS moves in the background) or ``copy``."""

    method: str
    moved: int = 0
    left: int = 0
    task_handle: str = ""

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {"method": self.method, "moved": self.moved, "left": self.left, "task_handle": self.task_handle}


def redrive(sqs: Any, dlq_url: str, queue_url: str, error_classes: tuple[str, ...] = (),
            limit: int | None = None, hold_s: int = 60) -> RedriveResult:
    """Move DLQ messages back to ``queue_url``: all (a move task), or those of ``error_classes``."""
    if not queue_url:
        raise ConfigError("no source queue to redrive to: set OCR_QUEUE_URL")
    if not error_classes and limit is None:
        handle = start_move_task(sqs, dlq_url, queue_url)
        if handle is not None:
            return RedriveResult("move-task", task_handle=handle)
    return copy_messages(sqs, dlq_url, queue_url, error_classes, limit, hold_s)


def start_move_task(sqs: Any, dlq_url: str, queue_url: str) -> str | None:
    """``StartMessageMoveTask``; ``None`` where the API is not offered (the caller copies instead)."""
    from botocore.exceptions import ClientError

    try:
        source, destination = queue_arn(sqs, dlq_url), queue_arn(sqs, queue_url)
        response = sqs.start_message_move_task(SourceArn=source, DestinationArn=destination)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if str(error.get("Code", "")) in UNSUPPORTED or status in UNSUPPORTED:
            return None
        raise
    return str(response["TaskHandle"])


def copy_messages(sqs: Any, dlq_url: str, queue_url: str, error_classes: tuple[str, ...] = (),
                  limit: int | None = None, hold_s: int = 60) -> RedriveResult:
    """Receive, send to the queue (without our error attributes) and delete; others are released."""
    dlq = SqsQueue(sqs, dlq_url, dlq_url)
    result = RedriveResult("copy")
    others: list[Message] = []
    while limit is None or result.moved < limit:
        batch = dlq.receive(10, wait_s=0, visibility_s=hold_s)
        if not batch:
            break
        for m in batch:
            unwanted = bool(error_classes) and error_class_of(m) not in error_classes
            if unwanted or (limit is not None and result.moved >= limit):
                others.append(m)
                continue
            sqs.send_message(QueueUrl=queue_url, MessageBody=m.body, **_attributes(m))
            dlq.delete(m)
            result.moved += 1
    for m in others:
        dlq.release(m)
    result.left = len(others)
    return result


def _attributes(message: Message) -> dict[str, Any]:
    """The message's own attributes (ours, about the failure, are dropped)."""
    kept = {k: {"DataType": "String", "StringValue": v} for k, v in message.attributes.items()
            if k not in ERROR_ATTRIBUTES and v}
    return {"MessageAttributes": kept} if kept else {}
