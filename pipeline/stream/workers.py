"""The OCR worker (a Ray actor with a warm engine) and the pool that keeps every CPU slot busy.

A worker takes whole jobs; a job of ``split_min_pages`` pages or more comes back as a *split*:
its bytes are put in Ray's object store once and its pages are handed out one by one, so a
200-page PDF spreads over the cluster instead of sitting on one core.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.engine.documents import OpenedDocument
from pipeline.engine.stage import EngineStamp, decode_page, warm_stage
from pipeline.errors import WorkerLost, classify
from pipeline.models import Document, Failure, Job, PageResult
from pipeline.settings import Settings
from pipeline.sources.s3 import FetchedObject


@dataclass
class JobSplit:
    """A long document handed back for page-by-page work."""

    fetched: FetchedObject  # data emptied; the bytes live in ``data_ref``
    content_type: str
    page_count: int
    data_ref: list[Any]  # [ObjectRef] (wrapped so Ray does not resolve it on return)
    engine_stamp: EngineStamp
    owner: str = ""  # the pool's name for the worker whose object store holds (and owns) the bytes


@dataclass
class TaskFailed:
    """A job or page that failed, sorted on the error tree."""

    error_class: str
    reason: str
    retryable: bool

    @classmethod
    def of(cls, exc: BaseException) -> TaskFailed:
        """Sort ``exc``."""
        err = classify(exc)
        return cls(err.error_class, err.reason, err.retryable)

    def failure(self, job: Job) -> Failure:
        """As a failure row for ``job``."""
        return Failure(job.bucket, job.key, job.version_id, self.error_class, self.reason, self.retryable)


class OcrWorker:
    """One per CPU slot: a warm engine, single-threaded (``OMP_THREAD_LIMIT=1``)."""

    def __init__(self, settings: Settings, split_min_pages: int = 3, env: dict[str, str] | None = None) -> None:
        self.stage = warm_stage(settings, env)
        self.split_min_pages = split_min_pages
        self._split: OpenedDocument | None = None  # the split document whose pages come here now
        self._split_key = ""
        # the actor runs its tasks on a few threads so one task's download overlaps another's OCR;
        # the engine (and the split document) is one task's at a time
        self._engine_lock = threading.Lock()

    def ready(self) -> tuple[int, str]:
        """(pid, Ray node id) of the worker, once its engine is loaded."""
        import ray

        return os.getpid(), ray.get_runtime_context().get_node_id()

    def start(self, job: Job) -> Document | JobSplit | TaskFailed:
        """Fetch the job; reuse an earlier reading of its bytes, or open it and OCR it whole, or
        hand it back split into pages.

        A small object (``sources.ahead.small``) is downloaded while another task holds the engine;
        any other is downloaded once this task has it, so one large object is in memory at a time.
        """
        from pipeline.sources.ahead import small

        fetched = None
        if small(job):  # its download and the look for an earlier reading need no engine
            try:
                fetched = self.stage.fetch(job)
                reused = self.stage.reuse(job, fetched)
            except Exception as exc:
                return TaskFailed.of(exc)
            if reused is not None:
                return reused
        with self._engine_lock:
            self._close_split()
            return self._start_fetched(job, fetched)

    def _start_fetched(self, job: Job, fetched: FetchedObject | None) -> Document | JobSplit | TaskFailed:
        """Holding the engine: fetch (and look for an earlier reading of) a large object, then read
        it whole or hand it back split."""
        import ray

        try:
            if fetched is None:
                fetched = self.stage.fetch(job)
                reused = self.stage.reuse(job, fetched)
                if reused is not None:
                    return reused
            started = time.perf_counter()
            with self.stage.open(fetched.data) as doc:
                if doc.page_count < self.split_min_pages:
                    return self.stage.process_opened(job, fetched, doc, started)
                ref = ray.put(fetched.data)
                empty = replace(fetched, data=b"", seconds=fetched.seconds + time.perf_counter() - started)
                return JobSplit(empty, doc.content_type, doc.page_count, [ref], self.stage.engine_stamp())
        except Exception as exc:
            return TaskFailed.of(exc)

    def page(self, data_ref: list[Any], page: int) -> PageResult | TaskFailed:
        """OCR one page of a split document (``[ObjectRef]`` of its bytes).

        Pages of one document arrive in a run, so the document is fetched from the object store
        and opened once per run here, not once per page.
        """
        try:
            with self._engine_lock:
                return self.stage.recognise(*decode_page(self._open_split(data_ref[0]), page))
        except Exception as exc:
            return TaskFailed.of(exc)

    def _open_split(self, ref: Any) -> OpenedDocument:
        import ray

        if ref.hex() != self._split_key:
            self._close_split()
            self._split = self.stage.open(ray.get(ref))
            self._split_key = ref.hex()
        assert self._split is not None
        return self._split

    def _close_split(self) -> None:
        if self._split is not None:
            self._split.close()
        self._split, self._split_key = None, ""


@dataclass
class Task:
    """A unit of work for a worker: a whole job, or one page of a split one."""

    owner: Any  # whatever the runtime uses to find the result's home
    job: Job
    page: int = 0
    data_ref: list[Any] | None = None  # [ObjectRef]: left unresolved, the worker fetches it once a run
    submitted: float = 0.0


@dataclass
class _Slot:
    handle: Any
    load: int = 0
    name: str = ""
    node_id: str = ""
    retiring: bool = False  # its node is being drained: no new work; ended once it has none


@dataclass
class WorkerPool:
    """Actors with at most ``per_worker`` tasks each; replaces dead ones on ``resize``."""

    settings: Settings
    per_worker: int = 2
    split_min_pages: int = 3
    task_deadline_s: float = 0.0
    slots: dict[str, _Slot] = field(default_factory=dict)
    outstanding: dict[Any, tuple[str, Task]] = field(default_factory=dict)
    starting: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    created: int = 0

    def resize(self, target: int, wait: bool = True) -> None:
        """Start actors until ``target`` are live or starting; with ``wait``, until they are ready."""
        import ray

        from pipeline.fleet.raycluster import worker_env

        remote = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0,
                            max_concurrency=self.per_worker)(OcrWorker)
        env = worker_env()
        while self.size + len(self.starting) < target:
            self.created += 1
            handle = remote.remote(self.settings, self.split_min_pages, env)
            self.starting[f"ocr-worker-{self.created}"] = (handle, handle.ready.remote())
        if wait and self.starting:
            ray.wait([ref for _, ref in self.starting.values()], num_returns=len(self.starting))
        self.promote()

    def promote(self) -> None:
        """Move workers whose engine has loaded into the pool; forget those that died starting."""
        import ray

        for name, (handle, ref) in list(self.starting.items()):
            ready, _ = ray.wait([ref], timeout=0)
            if not ready:
                continue
            del self.starting[name]
            try:
                _, node_id = ray.get(ref)
            except Exception:  # it died before it was ready: resize will try again
                continue
            self.slots[name] = _Slot(handle, 0, name, node_id)

    @property
    def size(self) -> int:
        """Live workers that take work (those of a draining node not counted)."""
        return sum(not s.retiring for s in self.slots.values())

    def free_slots(self) -> int:
        """How many more tasks the pool takes now."""
        return sum(self.per_worker - s.load for s in self.slots.values() if not s.retiring)

    def retire_on(self, nodes: set[str], keep: set[str] = frozenset()) -> list[str]:
        """Give no more work to the workers on ``nodes`` (being drained), and end each one that has
        none left and is not in ``keep`` (workers whose object store holds a split document still
        being read). Returns the names of the workers ended now."""
        import ray

        ended = []
        for slot in list(self.slots.values()):
            if slot.node_id not in nodes:
                continue
            slot.retiring = True
            if slot.load == 0 and slot.name not in keep:
                ray.kill(slot.handle, no_restart=True)
                self._drop(slot.name)
                ended.append(slot.name)
        return ended

    def submit(self, task: Task) -> bool:
        """Give the task to the least-loaded worker; False when all are full."""
        open_slots = [s for s in self.slots.values() if not s.retiring]
        if not open_slots:
            return False
        slot = min(open_slots, key=lambda s: s.load)
        if slot.load >= self.per_worker:
            return False
        task.submitted = time.monotonic()
        if task.page:
            ref = slot.handle.page.remote(task.data_ref, task.page)
        else:
            ref = slot.handle.start.remote(task.job)
        slot.load += 1
        self.outstanding[ref] = (slot.name, task)
        return True

    def poll(self, timeout_s: float) -> list[tuple[Task, Any]]:
        """Finished tasks with their results (a dead worker gives ``TaskFailed`` WorkerLost)."""
        import ray

        if self.starting:
            self.promote()
        if not self.outstanding:
            time.sleep(timeout_s)
            return []
        refs = list(self.outstanding)
        # back as soon as one task ends (a one-line scan takes ~25 ms: waiting out the time-out for
        # all of them left its worker idle), with every other one that has ended by then
        first, _ = ray.wait(refs, num_returns=1, timeout=timeout_s)
        ready = ray.wait(refs, num_returns=len(refs), timeout=0)[0] if first else []
        done = [self._collect(ref) for ref in dict.fromkeys(first + ready)]
        return done + self._reap_overdue()

    def _collect(self, ref: Any) -> tuple[Task, Any]:
        import ray

        name, task = self.outstanding.pop(ref)
        slot = self.slots.get(name)
        if slot is not None:
            slot.load -= 1
        try:
            result = ray.get(ref)
        except Exception as exc:  # the actor died under the task
            self._drop(name)
            return task, TaskFailed(WorkerLost.__name__, f"the OCR worker died: {type(exc).__name__}", True)
        if isinstance(result, JobSplit):
            result.owner = name
        return task, result

    def _reap_overdue(self) -> list[tuple[Task, Any]]:
        """Kill a worker whose task ran far past its deadline (a hung engine or decoder)."""
        import ray

        if not self.task_deadline_s:
            return []
        now = time.monotonic()
        late = [(ref, name) for ref, (name, t) in self.outstanding.items() if now - t.submitted > self.task_deadline_s]
        for _, name in late:
            slot = self.slots.get(name)
            if slot is not None:
                ray.kill(slot.handle, no_restart=True)
        return []

    def _drop(self, name: str) -> None:
        self.slots.pop(name, None)

    def shutdown(self) -> None:
        """Stop every worker."""
        import ray

        for handle in [s.handle for s in self.slots.values()] + [h for h, _ in self.starting.values()]:
            ray.kill(handle, no_restart=True)
        self.slots.clear()
        self.starting.clear()
