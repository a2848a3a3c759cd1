"""The stream runtime: SQS -> OCR workers on every CPU slot -> bulk writer -> the ledger.

One coordinator loop (this process) owns the ledger; a receiver thread long-polls SQS only while
the workers have room (bounded prefetch: backpressure, not a growing queue). In-flight messages
are kept invisible by a heartbeat. On SIGTERM it stops receiving, finishes or releases what is in
flight before the drain deadline, flushes the bulk writer and returns 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from itertools import islice
from typing import Any

from pipeline.engine.split import Parts, page_ranges
from pipeline.errors import BadMessage
from pipeline.fleet.scaling import ServiceReading
from pipeline.models import Document, Failure, Job
from pipeline.settings import Settings
from pipeline.sinks.opensearch import BulkWriter
from pipeline.sources.sqs import Message, SqsQueue, parse_body
from pipeline.stream import ledger
from pipeline.stream.bulk import BulkBuffer
from pipeline.stream.intake import Intake, free_room, hold_per_worker, receive_at_least
from pipeline.stream.ledger import Heartbeat, InFlight, Settler, SplitJob
from pipeline.stream.lookahead import LookAhead
from pipeline.stream.metrics import StreamMetrics, indexed_record
from pipeline.stream.workers import JobSplit, Task, WorkerPool

log = logging.getLogger("ocr_cluster.stream")

RECENT_RECORDS = 200  # documents' records kept for the scaling readings (all of them with keep_records)
HEARTBEAT_JOIN_S = 10.0  # at shutdown: how long an extend call in progress may take to return


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
        keep_records: bool = False,
        readings: Any = None,
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
        self.range_pending: deque[Task] = deque()
        self.bulk = BulkBuffer.from_settings(settings)
        self.stopping = threading.Event()
        self.intake = Intake(queue_, self.stopping, self._poll_wait())
        self.deadline = 0.0
        self.started_at = time.monotonic()
        self.last_resize = time.monotonic()
        self.last_busy = time.monotonic()
        self.draining: set[str] = set()  # Ray node ids being drained (Auto Scaling termination)
        self.finished = threading.Event()
        # every indexed document's record when asked (``keep_records``: the stream command's
        # --records, the benchmarks); otherwise the last RECENT_RECORDS (what scaling reads)
        self.records: deque[dict[str, Any]] = deque(maxlen=None if keep_records else RECENT_RECORDS)
        self.publish_failures = 0
        self.settler = Settler(queue_, self._count)
        self.heartbeat = Heartbeat(queue_, self.inflight, settings.heartbeat_s, settings.visibility_timeout_s,
                                   self.metrics.in_flight)
        # earlier readings looked for a receive's objects at once (``readings``: OpenSearchReadings)
        self.lookahead = LookAhead(readings) if readings is not None else None

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
        heartbeat = threading.Thread(target=self.heartbeat.run, args=(self.finished,), name="sqs-heartbeat",
                                     daemon=True)
        self.intake.start()
        heartbeat.start()
        log.info("stream started", extra={"workers": self.pool.size, "queue": self.queue.url})
        while not self._finished():
            self._tick()
        self.intake.join()
        self.finished.set()  # no heartbeat may extend a message after _shutdown released it
        heartbeat.join(timeout=HEARTBEAT_JOIN_S)
        self._shutdown()
        log.info("stream stopped", extra=self.counts)
        return 0

    def _finished(self) -> bool:
        if self.stopping.is_set():
            idle = not self.inflight and not self.intake.waiting()
            return idle or time.monotonic() >= self.deadline
        if self.exit_when_idle_s is not None and self._idle_for() >= self.exit_when_idle_s:
            self.stop("idle")
            return not self.inflight
        return False

    def _idle_for(self) -> float:
        if self.inflight or self.intake.waiting() or self.bulk:
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
        self._set_room()
        if self.lifecycle is not None and self.stopping.is_set():
            self.lifecycle.heartbeat_if_due()
        if self.publisher is not None:
            self._publish()

    def _publish(self) -> None:
        """The scaling metrics are an aid, never a reason to stop: a failed publish is logged and counted."""
        try:
            self.publisher.publish_if_due(self.reading)
        except Exception as exc:  # botocore raises many types: AccessDenied, throttling, time-outs
            self.publish_failures += 1
            log.warning("metrics publish failed", extra={"error": str(exc), "failures": self.publish_failures})

    def _set_room(self) -> None:
        """Tell the receiver how many messages the workers have room for, and how many are worth a
        receive (:mod:`pipeline.stream.intake`); none once the drain has begun."""
        hold = self.hold_per_worker()
        needing_ocr = sum(1 for e in self.inflight.values() if e.ocr_open)
        free = 0 if self.stopping.is_set() else free_room(self.pool.size, hold, needing_ocr, self.intake.waiting())
        self.intake.set_room(free, receive_at_least(self.pool.size, hold, self.pool.per_worker))

    def hold_per_worker(self) -> int:
        """Messages held per worker now (:func:`pipeline.stream.intake.hold_per_worker`)."""
        return hold_per_worker(self.s.prefetch_per_worker, self.pool.task_s)

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
        keep = {split.owner for entry in self.inflight.values() for split in entry.splits.values()}
        for name in self.pool.retire_on(self.draining, keep):
            log.info("OCR worker retired: its node is being drained", extra={"worker": name})

    def _admit(self) -> None:
        tasks: list[Task] = []
        for message in self.intake.take():
            if self.stopping.is_set():
                self.intake.release_quietly(message)
            else:
                tasks += self._accept(message)
        if tasks and self.lookahead is not None:
            self.lookahead.mark(tasks, self.pool.readings())

    def _accept(self, message: Message) -> list[Task]:
        """Take a received message in flight; returns its tasks (queued for the workers)."""
        try:
            jobs = parse_body(message.body)
        except BadMessage as exc:
            self.queue.dead_letter(message, exc.error_class, exc.reason)
            self._count(ledger.DEAD_LETTERED, exc.error_class)
            return []
        if not jobs:  # s3:TestEvent or no object-created record
            self.queue.delete(message)
            self._count("ignored")
            return []
        entry = InFlight(message, jobs, time.time())
        self.inflight[message.message_id] = entry
        tasks = [Task((message.message_id, i), job) for i, job in enumerate(jobs)]
        self.pending.extend(tasks)
        return tasks

    def _dispatch(self) -> None:
        for tasks in (self.range_pending, self.pending):
            while tasks and (self._abandoned(tasks[0]) or self.pool.submit(tasks[0])):
                tasks.popleft()

    def _abandoned(self, task: Task) -> bool:
        """A range of a split job that has already failed (or whose message is gone): not read."""
        return bool(task.first) and self._open_job(task.owner) is None

    def _open_job(self, owner: tuple[str, int]) -> InFlight | None:
        """The in-flight message of the job ``owner`` names, unless it is gone or the job has failed."""
        message_id, index = owner
        entry = self.inflight.get(message_id)
        return None if entry is None or index in entry.failures else entry

    # --- results ---------------------------------------------------------------------------
    def _on_result(self, task: Task, result: Any) -> None:
        entry = self._open_job(task.owner)
        if entry is None:
            return
        index = task.owner[1]
        if isinstance(result, Failure):  # a whole job, or one range of a split one: the job fails
            entry.fail(index, result, task.first, task.last)
        elif isinstance(result, JobSplit):
            self._split(entry, index, task.job, result)
        elif isinstance(result, list):  # a range of a split job
            doc = entry.range_read(index, result)
            if doc is not None:
                self._to_buffer(entry, index, doc)
        else:
            self._to_buffer(entry, index, result)

    def _split(self, entry: InFlight, index: int, job: Job, split: JobSplit) -> None:
        entry.splits[index] = SplitJob(Parts(split.doc), split.owner)
        owner = (entry.message.message_id, index)
        for first, last in page_ranges(split.doc.page_count, self.s.split_pages):
            self.range_pending.append(Task(owner, job, first, last, data_ref=split.data_ref))

    def _to_buffer(self, entry: InFlight, index: int, doc: Document) -> None:
        entry.recognised += 1
        self.bulk.add(doc, (entry.message.message_id, index))

    def _flush_if_due(self, force: bool = False) -> None:
        if not self.bulk:
            return
        if force or self.bulk.due(nothing_else_coming=not self._work_on_its_way()):
            self._flush()

    def _work_on_its_way(self) -> bool:
        return bool(self.pending or self.range_pending or self.pool.outstanding)

    def _flush(self) -> None:
        now = time.time()
        for flushed in self.bulk.flush(self.writer):
            for message_id, index in flushed.waiters:
                entry = self.inflight.get(message_id)
                if entry is None:
                    continue
                if flushed.outcome.ok:
                    entry.done[index] = flushed.doc
                    self._record(entry, flushed.doc, now)
                else:
                    entry.failures[index] = Failure.of_error(entry.jobs[index], flushed.outcome.error)

    def _record(self, entry: InFlight, doc: Document, indexed_at: float) -> None:
        latency = indexed_at - (entry.message.sent_at or entry.received_at)
        self.metrics.document_indexed(doc, latency)
        self.records.append(indexed_record(doc, latency, entry.message.sent_at, entry.received_at, indexed_at))

    def _settle_resolved(self, force: bool = False) -> None:
        hurry = force or self.stopping.is_set() or not self._work_on_its_way()
        self.settler.settle_finished(self.inflight, hurry)

    def _count(self, result: str, error_class: str = "") -> None:
        self.metrics.message_settled(result, error_class)

    @property
    def counts(self) -> dict[str, int]:
        """Messages settled, by outcome (indexed, dead-lettered, released, ignored): the metrics' own count."""
        return {ledger.INDEXED: 0, ledger.DEAD_LETTERED: 0, ledger.RELEASED: 0, "ignored": 0, **self.metrics.settled}

    def reading(self) -> ServiceReading:
        """What the scaling publisher needs of the service now (one SQS call: the queue's depth)."""
        last = islice(reversed(self.records), RECENT_RECORDS)  # not a copy of every record kept
        recent = [(int(r["pages"]), float(r.get("ocr_s", 0.0))) for r in last]
        return ServiceReading(visible=self.queue.depth()["visible"], workers=self.pool.size, pages=self.metrics.pages,
                              uptime_s=time.monotonic() - self.started_at,
                              dead_lettered=self.counts[ledger.DEAD_LETTERED], recent=recent)

    def _shutdown(self) -> None:
        self._flush_if_due(force=True)
        self._settle_resolved(force=True)
        leftover = list(self.inflight.values())
        for entry in leftover:
            self.intake.release_quietly(entry.message)
            self._count(ledger.RELEASED)
        self._admit()
        self.inflight.clear()
        if leftover:
            log.warning("released unfinished messages at shutdown", extra={"count": len(leftover)})
        self.pool.shutdown()
        if self.lifecycle is not None:
            self.lifecycle.complete()
