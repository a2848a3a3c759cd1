"""The ledger: each message in flight, what each job it names has become, and what becomes of
the message once every job has an outcome.

- every job indexed                 -> delete the message (ten to a request)
- a permanent failure, none transient -> DLQ now with ErrorClass/ErrorReason, delete the original
- a transient failure               -> release for a retry after a backoff; on the queue's last
                                       allowed receive, DLQ now so the reason is kept

Finished messages stay in flight (heartbeated) until settled, and are settled together: when ten
are finished (one delete request), when the oldest has waited ``SETTLE_DELAY_S``, or at once when
the service is in a hurry (draining, or nothing else on its way).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.engine.split import Parts
from pipeline.models import Document, Failure, Job
from pipeline.sources.sqs import Message, SqsQueue

log = logging.getLogger("ocr_cluster.ledger")

INDEXED, DEAD_LETTERED, RELEASED = "indexed", "dead-lettered", "released"
SETTLE_DELAY_S = 0.5  # finished messages wait at most this long for nine more to share a delete
SETTLE_TOGETHER = 10  # SQS's most messages a delete request


@dataclass
class SplitJob:
    """A split job: its ranges' results so far, and where its bytes live."""

    parts: Parts
    owner: str  # the worker whose object store holds the bytes
    started: float = field(default_factory=time.perf_counter)


@dataclass
class InFlight:
    """One received message and the state of each job it names."""

    message: Message
    jobs: list[Job]
    received_at: float
    done: dict[int, Document | None] = field(default_factory=dict)  # job index -> indexed doc
    failures: dict[int, Failure] = field(default_factory=dict)
    splits: dict[int, SplitJob] = field(default_factory=dict)
    recognised: int = 0  # jobs whose OCR is over (buffered for the bulk writer, indexed or failed)

    @property
    def ocr_open(self) -> bool:
        """Some job of this message still needs a worker."""
        return self.recognised < len(self.jobs)

    @property
    def resolved(self) -> bool:
        """Every job indexed or failed."""
        return len(self.done) + len(self.failures) >= len(self.jobs)

    def fail(self, index: int, failure: Failure, first: int = 0, last: int = 0) -> None:
        """Job ``index`` failed (a range ``first``..``last`` of it, when split: the record names its pages)."""
        split = self.splits.pop(index, None)
        if split is not None and first:
            split.parts.fail(first, last, failure)
            failure = split.parts.failure() or failure
        self.failures[index] = failure
        self.recognised += 1

    def range_read(self, index: int, pages: list) -> Document | None:
        """A range of split job ``index`` is read: the whole document once its last range is in."""
        split = self.splits[index]
        split.parts.add(pages)
        if not split.parts.complete:
            return None
        del self.splits[index]
        return split.parts.document(time.perf_counter() - split.started)

    def outcome(self) -> MessageOutcome:
        """What the ledger settles for this message."""
        return MessageOutcome(self.message, list(self.failures.values()), len(self.done))


@dataclass
class MessageOutcome:
    """The failures of one message's jobs (empty: all indexed)."""

    message: Message
    failures: list[Failure] = field(default_factory=list)
    documents: int = 0


class Settler:
    """Settles finished messages together (see the module docstring); ``counted(result, error_class)``
    hears each settled message's result."""

    def __init__(self, queue: SqsQueue, counted: Callable[[str, str], None]) -> None:
        self.queue = queue
        self.counted = counted
        self.since = 0.0  # when the oldest finished message still to settle finished

    def settle_finished(self, inflight: dict[str, InFlight], hurry: bool) -> None:
        """Take the finished messages out of ``inflight`` and settle them, when due."""
        finished = [m for m, e in inflight.items() if e.resolved]
        if not self._due(len(finished), hurry):
            return
        self.since = 0.0
        outcomes = [inflight.pop(m).outcome() for m in finished]
        for outcome, result in settle_all(self.queue, outcomes):
            self.counted(result, outcome.failures[0].error_class if outcome.failures else "")

    def _due(self, finished: int, hurry: bool) -> bool:
        if not finished:
            return False
        if not self.since:
            self.since = time.monotonic()
        return hurry or finished >= SETTLE_TOGETHER or time.monotonic() - self.since >= SETTLE_DELAY_S


class Heartbeat:
    """Keeps the in-flight messages invisible: every ``every_s`` their visibility is extended to
    ``visibility_s``. Its own thread, so a long bulk retry in the loop never lets a message's
    visibility lapse; it reads the loop's in-flight messages without a lock (a snapshot, retried
    when the loop changed them during the copy)."""

    def __init__(self, queue: SqsQueue, inflight: dict[str, InFlight], every_s: float, visibility_s: int,
                 on_beat: Callable[[int], None]) -> None:
        self.queue = queue
        self.inflight = inflight
        self.every_s = every_s
        self.visibility_s = visibility_s
        self.on_beat = on_beat  # told how many messages each beat extended (the in-flight gauge)

    def run(self, finished: threading.Event) -> None:
        """Beat until ``finished`` is set (no extension after that: the loop releases what is left)."""
        while not finished.wait(self.every_s):
            messages = self.messages()
            if not messages:
                continue
            try:
                self.queue.extend(messages, self.visibility_s)
            except Exception as exc:
                log.warning("heartbeat failed", extra={"error": str(exc)})
            self.on_beat(len(messages))

    def messages(self) -> list[Message]:
        """A snapshot of the in-flight messages, taken safely while the loop changes the dict."""
        for _ in range(5):
            try:
                return [e.message for e in list(self.inflight.values())]
            except RuntimeError:  # changed size during the copy: try again
                continue
        return []


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
