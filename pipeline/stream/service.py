"""The stream runtime: SQS -> OCR workers on every CPU slot -> bulk writer -> the ledger.

One coordinator loop (this process) owns the ledger; a receiver thread long-polls SQS only while
the workers have room (bounded prefetch: backpressure, not a growing queue). In-flight messages
are kept invisible by a heartbeat. On SIGTERM it stops receiving, finishes or releases what is in
flight before the drain deadline, flushes the bulk writer and returns 0.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pipeline.engine.stage import assemble_document
from pipeline.errors import BadMessage
from pipeline.models import Document, Failure, Job, PageResult
from pipeline.settings import Settings
from pipeline.sinks.opensearch import BulkWriter
from pipeline.sources.messages import parse_body
from pipeline.sources.sqs import Message, SqsQueue
from pipeline.stream import ledger
from pipeline.stream.metrics import StreamMetrics
from pipeline.stream.workers import JobSplit, Task, TaskFailed, WorkerPool

log = logging.getLogger("ocr_cluster.stream")

HOLD_S = 1.0  # quick objects: hold about this much work per worker, so SQS is read ten at a time
MAX_HOLD_PER_WORKER = 10  # the most messages held per worker, however quick its objects
SETTLE_DELAY_S = 0.5  # finished messages wait at most this long for nine more to share a delete
TASK_S_WEIGHT = 0.1  # the moving average of a task's seconds: weight of the newest


@dataclass
class _Split:
    info: JobSplit
    pages: dict[int, PageResult] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


@dataclass
class InFlight:
    """One received message and the state of each job it names."""

    message: Message
    jobs: list[Job]
    received_at: float
    done: dict[int, Document | None] = field(default_factory=dict)  # job index -> indexed doc
    failures: dict[int, Failure] = field(default_factory=dict)
    splits: dict[int, _Split] = field(default_factory=dict)
    recognised: int = 0  # jobs whose OCR is over (buffered for the bulk writer, indexed or failed)

    @property
    def ocr_open(self) -> bool:
        """Some job of this message still needs a worker."""
        return self.recognised < len(self.jobs)

    @property
    def resolved(self) -> bool:
        """Every job indexed or failed."""
        return len(self.done) + len(self.failures) >= len(self.jobs)


class StreamService:
    """The long-running service of every node (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        queue_: SqsQueue,
        writer: BulkWriter,
        pool: WorkerPool,
        exit_when_idle_s: float | None = None,
        lifecycle: Any = None,
        publisher: Any = None,
    ) -> None:
        self.s = settings
        self.queue = queue_
        self.writer = writer
        self.pool = pool
        self.exit_when_idle_s = exit_when_idle_s
        self.lifecycle = lifecycle
        self.publisher = publisher
        self.metrics = StreamMetrics()
        self.inflight: dict[str, InFlight] = {}
        self.pending: deque[Task] = deque()
        self.page_pending: deque[Task] = deque()
        self.buffer: dict[str, Document] = {}
        self.waiters: dict[str, list[tuple[str, int]]] = {}
        self.buffer_since = 0.0
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.capacity = 0
        self.stopping = threading.Event()
        self.deadline = 0.0
        self.started_at = time.monotonic()
        self.last_resize = time.monotonic()
        self.last_busy = time.monotonic()
        self.draining: set[str] = set()  # Ray node ids being drained (Auto Scaling termination)
        self.finished = threading.Event()
        self.records: list[dict[str, Any]] = []
        self.counts = {ledger.INDEXED: 0, ledger.DEAD_LETTERED: 0, ledger.RELEASED: 0, "ignored": 0}
        self.publish_failures = 0
        self.task_s = 0.0  # moving average of a task's seconds, submitted -> result
        self.resolved_since = 0.0  # when the oldest finished message still to settle finished

    # --- lifecycle -------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT start the drain."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop("signal"))

    def stop(self, why: str) -> None:
        """Stop receiving and drain within ``drain_timeout_s``."""
        if not self.stopping.is_set():
            self.deadline = time.monotonic() + self.s.drain_timeout_s
            self.stopping.set()
            log.info("draining", extra={"why": why, "in_flight": len(self.inflight)})

    def run(self) -> int:
        """Serve until stopped (or idle, with ``exit_when_idle_s``); returns the exit code."""
        receiver = threading.Thread(target=self._receive_loop, name="sqs-receiver", daemon=True)
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="sqs-heartbeat", daemon=True)
        receiver.start()
        heartbeat.start()
        log.info("stream started", extra={"workers": self.pool.size, "queue": self.queue.url})
        while not self._finished():
            self._tick()
        receiver.join(timeout=self.s.poll_wait_s + 5)
        self.finished.set()  # no heartbeat may extend a message after _shutdown released it
        heartbeat.join(timeout=self.s.s3_timeout_s)
        self._shutdown()
        log.info("stream stopped", extra=self.counts)
        return 0

    def _finished(self) -> bool:
        if self.stopping.is_set():
            idle = not self.inflight and self.inbox.empty()
            return idle or time.monotonic() >= self.deadline
        if self.exit_when_idle_s is not None and self._idle_for() >= self.exit_when_idle_s:
            self.stop("idle")
            return not self.inflight
        return False

    def _idle_for(self) -> float:
        if self.inflight or not self.inbox.empty() or self.buffer:
            self.last_busy = time.monotonic()
        return time.monotonic() - self.last_busy

    # --- the loop --------------------------------------------------------------------------
    def _tick(self) -> None:
        self._admit()
        self._dispatch()
        for task, result in self.pool.poll(0.05):
            self._on_result(task, result)
        self._flush_if_due()
        self._settle_resolved()
        self._maintain_pool()
        self.capacity = self._free_capacity()
        if self.lifecycle is not None and self.stopping.is_set():
            self.lifecycle.heartbeat_if_due()
        if self.publisher is not None:
            self._publish()

    def _publish(self) -> None:
        """The scaling metrics are an aid, never a reason to stop: a failed publish is logged and counted."""
        try:
            self.publisher.publish_if_due(self)
        except Exception as exc:  # botocore raises many types: AccessDenied, throttling, time-outs
            self.publish_failures += 1
            log.warning("metrics publish failed", extra={"error": str(exc), "failures": self.publish_failures})

    def _free_capacity(self) -> int:
        """Messages the receiver may take now: workers x prefetch, less those still needing OCR.

        Messages whose documents only wait for the bulk writer do not count (the writer's own
        count/bytes bounds limit them), so the engines never idle behind an unflushed batch.
        """
        if self.stopping.is_set():
            return 0
        limit = max(1, self.pool.size * self.hold_per_worker())
        open_ocr = sum(1 for e in self.inflight.values() if e.ocr_open)
        return max(0, limit - open_ocr - self.inbox.qsize())

    def hold_per_worker(self) -> int:
        """Messages held per worker: ``prefetch_per_worker``, or more while objects take a fraction of
        a second (about ``HOLD_S`` of work, at most ``MAX_HOLD_PER_WORKER``): two held one-line scans
        meant a receive and a delete for every two, each a round trip the coordinator waits on."""
        base = self.s.prefetch_per_worker
        if self.task_s <= 0:
            return base
        return max(base, min(MAX_HOLD_PER_WORKER, int(HOLD_S / self.task_s)))

    def _receive_loop(self) -> None:
        while not self.stopping.is_set():
            free = self.capacity
            if free <= 0:
                time.sleep(0.05)
                continue
            try:
                messages = self.queue.receive(min(10, free), wait_s=self._poll_wait(), visibility_s=None)
            except Exception as exc:
                log.warning("receive failed", extra={"error": str(exc)})
                time.sleep(1.0)
                continue
            if self.stopping.is_set():  # arrived after the drain began: give them back now
                for m in messages:
                    self._release_quietly(m)
                return
            for m in messages:
                self.inbox.put(m)
            if messages:
                self.capacity = max(0, free - len(messages))

    def _release_quietly(self, message: Message) -> None:
        try:
            self.queue.release(message, 0)
        except Exception as exc:  # it comes back by itself when its visibility ends
            log.warning("release failed", extra={"message_id": message.message_id, "error": str(exc)})

    def _poll_wait(self) -> int:
        return min(1, self.s.poll_wait_s) if self.exit_when_idle_s is not None else self.s.poll_wait_s

    def _maintain_pool(self) -> None:
        """Replace dead workers, follow the cluster as nodes come and go, and retire the workers of
        nodes being drained once their pages are done (so a scale-in redoes nothing)."""
        self._retire_draining()
        if time.monotonic() - self.last_resize < 5.0 or self.stopping.is_set():
            return
        self.last_resize = time.monotonic()
        from pipeline.fleet.raycluster import draining_nodes, schedulable_cpus

        self.draining = draining_nodes()
        target = self.s.ocr_workers or schedulable_cpus(self.draining)
        if self.pool.size + len(self.pool.starting) < target:
            log.info("starting OCR workers", extra={"have": self.pool.size, "want": target})
            self.pool.resize(target, wait=False)

    def _retire_draining(self) -> None:
        if not self.draining:
            return
        # a worker that split a document holds its bytes for the other workers' pages: it stays
        keep = {split.info.owner for entry in self.inflight.values() for split in entry.splits.values()}
        for name in self.pool.retire_on(self.draining, keep):
            log.info("OCR worker retired: its node is being drained", extra={"worker": name})

    def _admit(self) -> None:
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return
            if self.stopping.is_set():
                self._release_quietly(message)
                continue
            self._accept(message)

    def _accept(self, message: Message) -> None:
        try:
            jobs = parse_body(message.body)
        except BadMessage as exc:
            self.queue.dead_letter(message, exc.error_class, exc.reason)
            self._count(ledger.DEAD_LETTERED, exc.error_class)
            return
        if not jobs:  # s3:TestEvent or no object-created record
            self.queue.delete(message)
            self.counts["ignored"] += 1
            return
        entry = InFlight(message, jobs, time.time())
        self.inflight[message.message_id] = entry
        self.pending.extend(Task((message.message_id, i), job) for i, job in enumerate(jobs))

    def _dispatch(self) -> None:
        for tasks in (self.page_pending, self.pending):
            while tasks and self.pool.submit(tasks[0]):
                tasks.popleft()

    # --- results ---------------------------------------------------------------------------
    def _on_result(self, task: Task, result: Any) -> None:
        seconds = time.monotonic() - task.submitted
        self.task_s = seconds if not self.task_s else self.task_s + TASK_S_WEIGHT * (seconds - self.task_s)
        message_id, index = task.owner
        entry = self.inflight.get(message_id)
        if entry is None or index in entry.failures:
            return
        if isinstance(result, TaskFailed):
            entry.failures[index] = result.failure(task.job)
            entry.recognised += 1
        elif isinstance(result, JobSplit):
            self._split(entry, index, task.job, result)
        elif isinstance(result, PageResult):
            self._page_done(entry, index, task.job, result)
        else:
            self._to_buffer(entry, index, result)

    def _split(self, entry: InFlight, index: int, job: Job, split: JobSplit) -> None:
        entry.splits[index] = _Split(split)
        owner = (entry.message.message_id, index)
        for page in range(1, split.page_count + 1):
            self.page_pending.append(Task(owner, job, page=page, data_ref=split.data_ref))

    def _page_done(self, entry: InFlight, index: int, job: Job, page: PageResult) -> None:
        state = entry.splits[index]
        state.pages[page.page] = page
        if len(state.pages) == state.info.page_count:
            info = state.info
            doc = assemble_document(
                job, info.fetched, info.content_type, list(state.pages.values()),
                time.perf_counter() - state.started, info.engine_stamp,
            )
            del entry.splits[index]
            self._to_buffer(entry, index, doc)

    def _to_buffer(self, entry: InFlight, index: int, doc: Document) -> None:
        entry.recognised += 1
        if not self.buffer:
            self.buffer_since = time.monotonic()
        self.buffer[doc.doc_id] = doc
        self.waiters.setdefault(doc.doc_id, []).append((entry.message.message_id, index))

    def _flush_if_due(self, force: bool = False) -> None:
        if not self.buffer:
            return
        size = sum(len(d.text) for d in self.buffer.values())
        due = (
            force
            or len(self.buffer) >= self.s.bulk_max_docs
            or size >= self.s.bulk_max_bytes // 2
            or time.monotonic() - self.buffer_since >= self.s.bulk_max_delay_s
            or (not self.pending and not self.page_pending and not self.pool.outstanding)
        )
        if due:
            self._flush()

    def _flush(self) -> None:
        docs, self.buffer = self.buffer, {}
        results = self.writer.write((doc_id, d.to_source()) for doc_id, d in docs.items())
        now = time.time()
        for doc_id, doc in docs.items():
            outcome = results[doc_id]
            for message_id, index in self.waiters.pop(doc_id, []):
                entry = self.inflight.get(message_id)
                if entry is None:
                    continue
                if outcome.ok:
                    entry.done[index] = doc
                    self._record(entry, doc, now)
                else:
                    job = entry.jobs[index]
                    entry.failures[index] = Failure(
                        job.bucket, job.key, job.version_id, outcome.error_class, outcome.reason, outcome.retryable
                    )

    def _record(self, entry: InFlight, doc: Document, indexed_at: float) -> None:
        latency = indexed_at - (entry.message.sent_at or entry.received_at)
        self.metrics.document_indexed(doc, latency)
        self.records.append({"doc_id": doc.doc_id, "key": doc.key, "pages": doc.page_count, "latency_s": latency,
                             "sent_at": entry.message.sent_at, "received_at": entry.received_at,
                             "indexed_at": indexed_at, **doc.timings,
                             "page_timings": [{"page": p.page, "decode_s": p.decode_s, "ocr_s": p.ocr_s,
                                               "clean_s": p.clean_s, "geometry_s": p.geometry_s,
                                               "source": p.source} for p in doc.pages]})

    def _settle_due(self, finished: int) -> bool:
        """Settle now: ten finished (one delete request), the oldest waited ``SETTLE_DELAY_S``, or
        nothing else is on its way (finished messages stay in flight, heartbeated, until settled)."""
        if not finished:
            return False
        if not self.resolved_since:
            self.resolved_since = time.monotonic()
        return (finished >= 10 or time.monotonic() - self.resolved_since >= SETTLE_DELAY_S
                or self.stopping.is_set() or not (self.pending or self.page_pending or self.pool.outstanding))

    def _settle_resolved(self, force: bool = False) -> None:
        finished = [m for m, e in self.inflight.items() if e.resolved]
        if not (force or self._settle_due(len(finished))):
            return
        self.resolved_since = 0.0
        resolved = [self.inflight.pop(m) for m in finished]
        outcomes = [ledger.MessageOutcome(e.message, list(e.failures.values()), len(e.done)) for e in resolved]
        for outcome, result in ledger.settle_all(self.queue, outcomes):
            self._count(result, outcome.failures[0].error_class if outcome.failures else "")

    def _count(self, result: str, error_class: str = "") -> None:
        self.counts[result] = self.counts.get(result, 0) + 1
        self.metrics.message_settled(result, error_class)

    def _heartbeat_loop(self) -> None:
        """Its own thread, so a long bulk retry in the loop never lets a message's visibility lapse."""
        while not self.finished.wait(self.s.heartbeat_s):
            messages = self._in_flight_messages()
            if not messages:
                continue
            try:
                self.queue.extend(messages, self.s.visibility_timeout_s)
            except Exception as exc:
                log.warning("heartbeat failed", extra={"error": str(exc)})
            self.metrics.in_flight(len(messages))

    def _in_flight_messages(self) -> list[Message]:
        """A snapshot of the in-flight messages, taken safely while the loop changes the dict."""
        for _ in range(5):
            try:
                return [e.message for e in list(self.inflight.values())]
            except RuntimeError:  # changed size during the copy: try again
                continue
        return []

    def _shutdown(self) -> None:
        self._flush_if_due(force=True)
        self._settle_resolved(force=True)
        leftover = list(self.inflight.values())
        for entry in leftover:
            self._release_quietly(entry.message)
            self._count(ledger.RELEASED)
        self._admit()
        self.inflight.clear()
        if leftover:
            log.warning("released unfinished messages at shutdown", extra={"count": len(leftover)})
        self.pool.shutdown()
        if self.lifecycle is not None:
            self.lifecycle.complete()
