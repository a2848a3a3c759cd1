"""The stream's intake: a receiver thread long-polls SQS only for as many messages as the
workers have room for, and hands them to the coordinator loop through an inbox.

The loop sets the room each tick (:meth:`Intake.set_room`: what the workers can hold less what
still needs OCR and what waits in the inbox, and how much room is worth a receive); the receiver
takes it in credits before each receive (at most ten, SQS's batch), so neither thread overwrites
the other's count and a receive in progress is never counted twice. While the workers have work
in hand the receiver waits for room for a whole batch: a receive per message or two (what taking
every free credit at once made of quick objects) is a request, and on the local stack ~20 ms of
moto's CPU, each. Messages that arrive once the drain has begun are given
back at once (visibility 0), never held.

How much room there is (:func:`hold_per_worker`, :func:`free_room`, :func:`receive_at_least`) is
decided here too, from what the loop knows of its workers: how many, how quick their tasks are,
how many messages still need OCR.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from pipeline.sources.sqs import Message, SqsQueue

log = logging.getLogger("ocr_cluster.stream")

HOLD_S = 1.0  # quick objects: hold about this much work per worker, so SQS is read ten at a time
MAX_HOLD_PER_WORKER = 10  # the most messages held per worker, however quick its objects
RECEIVE_TOGETHER = 10  # messages worth a receive while the workers have work in hand (SQS's most)


def hold_per_worker(prefetch_per_worker: int, task_s: float) -> int:
    """Messages held per worker: ``prefetch_per_worker``, or more while objects take a fraction of
    a second (about ``HOLD_S`` of work, at most ``MAX_HOLD_PER_WORKER``): two held one-line scans
    meant a receive and a delete for every two, each a round trip the coordinator waits on.

    ``task_s`` (the pool's): a task's share of its worker (from when the worker was free for it,
    not from when it was handed out: a worker runs several tasks at once, one reading while the
    others download), so a worker gets through ``1 / task_s`` tasks a second (0: not known yet)."""
    if task_s <= 0:
        return prefetch_per_worker
    return max(prefetch_per_worker, min(MAX_HOLD_PER_WORKER, int(HOLD_S / task_s)))


def free_room(workers: int, hold: int, needing_ocr: int, waiting: int) -> int:
    """Messages the receiver may take now: ``workers`` x ``hold``, less those in flight that still
    need OCR and those received but not yet taken (``waiting``).

    Messages whose documents only wait for the bulk writer do not count (the writer's own
    count/bytes bounds limit them), so the engines never idle behind an unflushed batch."""
    return max(0, max(1, workers * hold) - needing_ocr - waiting)


def receive_at_least(workers: int, hold: int, tasks_per_worker: int) -> int:
    """The fewest messages worth a receive: ``RECEIVE_TOGETHER`` while, that many short of the
    hold, the workers would still have every task slot busy and one more job each waiting; else
    one (the workers could run short: any room is received at once).

    Quick objects (a hold of ten a worker) are received ten at a time instead of the one to four
    that finished since the last receive; a hold too small to wait for a batch behind the work in
    hand (slow objects: ``prefetch_per_worker``) receives as before."""
    limit = workers * hold
    in_hand = workers * (tasks_per_worker + 1)
    return max(1, min(RECEIVE_TOGETHER, limit - in_hand))


class Credits:
    """Messages the receiver thread may ask SQS for: set by the loop each tick from what the workers
    have room for (less what the receiver has asked for and not yet put in the inbox), taken by the
    receiver before each receive; one lock, so neither thread overwrites the other's count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free = 0
        self._least = 1  # the fewest credits worth a receive now
        self._asked = 0  # taken for a receive whose messages are not in the inbox yet

    def set(self, free: int, least: int = 1) -> None:
        """The loop's count of the messages the workers have room for (the inbox counted), and the
        fewest worth a receive now (1: any room at all)."""
        with self._lock:
            self._free = max(0, free - self._asked)
            self._least = max(1, least)

    def take(self, most: int) -> int:
        """Up to ``most`` credits for one receive; 0 while fewer than ``min(most, least)`` are free."""
        with self._lock:
            if self._free < min(most, self._least):
                return 0
            taken = min(most, self._free)
            self._free -= taken
            self._asked += taken
            return taken

    def received(self) -> None:
        """The receive is over: what it brought is in the inbox (and counted by the loop)."""
        with self._lock:
            self._asked = 0



class Intake:
    """The receiver thread and its inbox (see the module docstring)."""

    def __init__(self, queue_: SqsQueue, stopping: threading.Event, poll_wait_s: int) -> None:
        self.queue = queue_
        self.stopping = stopping
        self.poll_wait_s = poll_wait_s
        self.credits = Credits()
        self.inbox: queue.Queue[Message] = queue.Queue()
        self._thread = threading.Thread(target=self._receive_loop, name="sqs-receiver", daemon=True)

    def start(self) -> None:
        """Start receiving."""
        self._thread.start()

    def join(self) -> None:
        """Wait for the receiver to end (it ends within one long poll of the stop)."""
        self._thread.join(timeout=self.poll_wait_s + 5)

    def set_room(self, free: int, least: int = 1) -> None:
        """The loop's count of messages the workers have room for now (the inbox counted), and the
        fewest worth a receive (:class:`Credits`)."""
        self.credits.set(free, least)

    def waiting(self) -> int:
        """Messages received and not yet taken by the loop."""
        return self.inbox.qsize()

    def take(self) -> list[Message]:
        """Everything received since the last take."""
        messages = []
        while True:
            try:
                messages.append(self.inbox.get_nowait())
            except queue.Empty:
                return messages

    def release_quietly(self, message: Message) -> None:
        """Give a message back for another receive now; a failure only logs (it comes back anyway
        when its visibility ends)."""
        try:
            self.queue.release(message, 0)
        except Exception as exc:
            log.warning("release failed", extra={"message_id": message.message_id, "error": str(exc)})

    def _receive_loop(self) -> None:
        while not self.stopping.is_set():
            free = self.credits.take(10)
            if free <= 0:
                time.sleep(0.05)
                continue
            try:
                messages = self.queue.receive(free, wait_s=self.poll_wait_s, visibility_s=None)
            except Exception as exc:
                self.credits.received()
                log.warning("receive failed", extra={"error": str(exc)})
                time.sleep(1.0)
                continue
            if self.stopping.is_set():  # arrived after the drain began: give them back now
                for m in messages:
                    self.release_quietly(m)
                return
            for m in messages:
                self.inbox.put(m)
            self.credits.received()
