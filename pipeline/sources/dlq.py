"""The dead-letter queue: look without consuming, grouped by error class."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import MaxReceiveCountExceeded
from pipeline.sources.sqs import Message, SqsQueue


@dataclass
class DlqSummary:
    """Counts and a few examples per error class."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, message: Message, max_examples: int = 3) -> None:
        """Count one message under its ``ErrorClass`` (``MaxReceiveCountExceeded`` when SQS's redrive moved it)."""
        error_class = error_class_of(message)
        self.counts[error_class] += 1
        if len(self.examples[error_class]) < max_examples:
            self.examples[error_class].append(message.attributes.get("ErrorReason") or message.body[:200])


def error_class_of(message: Message) -> str:
    """The message's ``ErrorClass`` attribute; ``MaxReceiveCountExceeded`` when SQS's redrive moved it."""
    return message.attributes.get("ErrorClass") or MaxReceiveCountExceeded.__name__


def peek(sqs: Any, dlq_url: str, limit: int = 1000, hold_s: int = 30) -> list[Message]:
    """Read up to ``limit`` DLQ messages without deleting them.

    Each is held invisible for ``hold_s`` while reading (so none is counted twice), then made
    visible again.
    """
    queue = SqsQueue(sqs, dlq_url)
    messages = queue.receive_all(hold_s, limit)
    for m in messages:
        queue.release(m, 0)
    return messages


def summarise(messages: list[Message]) -> DlqSummary:
    """Group messages by error class."""
    summary = DlqSummary()
    for m in messages:
        summary.add(m)
    return summary
