"""The ledger: what becomes of a message once every job it names has an outcome.

- every job indexed                 -> delete the message (ten to a request)
- a permanent failure, none transient -> DLQ now with ErrorClass/ErrorReason, delete the original
- a transient failure               -> release for a retry after a backoff; on the queue's last
                                       allowed receive, DLQ now so the reason is kept
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pipeline.models import Failure
from pipeline.sources.sqs import Message, SqsQueue

log = logging.getLogger("ocr_cluster.ledger")

INDEXED, DEAD_LETTERED, RELEASED = "indexed", "dead-lettered", "released"


@dataclass
class MessageOutcome:
    """The failures of one message's jobs (empty: all indexed)."""

    message: Message
    failures: list[Failure] = field(default_factory=list)
    documents: int = 0


def retry_delay(receive_count: int, base_s: int = 5, cap_s: int = 300) -> int:
    """Seconds before a released message is seen again: doubling with each receive."""
    return min(cap_s, base_s * 2 ** max(0, receive_count - 1))


def settle(queue: SqsQueue, outcome: MessageOutcome) -> str:
    """Delete, dead-letter or release the message; returns which."""
    message, failures = outcome.message, outcome.failures
    if not failures:
        queue.delete(message)
        return INDEXED
    transient = [f for f in failures if f.retryable]
    last_chance = message.receive_count >= queue.max_receive_count
    if transient and not last_chance:
        delay = retry_delay(message.receive_count)
        queue.release(message, delay)
        _log_failure(logging.WARNING, "released for retry", message, transient[0], retry_in_s=delay)
        return RELEASED
    first = (transient or failures)[0]
    reason = "; ".join(f"{f.key}: {f.reason}" if f.key else f.reason for f in failures)
    if transient:
        reason = f"gave up after {message.receive_count} receives: {reason}"
    queue.dead_letter(message, first.error_class, reason, detail={"failed_keys": [f.key for f in failures][:20]})
    _log_failure(logging.ERROR, "dead-lettered", message, first)
    return DEAD_LETTERED


def settle_all(queue: SqsQueue, outcomes: list[MessageOutcome]) -> list[tuple[MessageOutcome, str]]:
    """Settle many messages: the fully indexed ones deleted in batches, the others one by one.

    A message whose settling fails is left alone: it returns after its visibility timeout, and
    processing it again is harmless (deterministic document ids).
    """
    clean = [o for o in outcomes if not o.failures]
    settled = _delete_clean(queue, clean)
    for outcome in outcomes:
        if not outcome.failures:
            continue
        try:
            settled.append((outcome, settle(queue, outcome)))
        except Exception as exc:
            log.error("settle failed", extra={"message_id": outcome.message.message_id, "error": str(exc)})
    return settled


def _delete_clean(queue: SqsQueue, clean: list[MessageOutcome]) -> list[tuple[MessageOutcome, str]]:
    if not clean:
        return []
    try:
        refused = {m.message_id for m in queue.delete_many([o.message for o in clean])}
    except Exception as exc:
        log.error("delete failed; the messages will return", extra={"count": len(clean), "error": str(exc)})
        return []
    for message_id in refused:
        log.warning("delete refused; the message will return", extra={"message_id": message_id})
    return [(o, INDEXED) for o in clean if o.message.message_id not in refused]


def _log_failure(level: int, what: str, message: Message, failure: Failure, **extra: object) -> None:
    log.log(
        level,
        what,
        extra={
            "message_id": message.message_id,
            "bucket": failure.bucket,
            "key": failure.key,
            "error_class": failure.error_class,
            "reason": failure.reason,
            "receive_count": message.receive_count,
            **extra,
        },
    )
