"""The OCR worker (a Ray actor with a warm engine) and the pool that keeps every CPU slot busy.

A worker takes whole jobs; a long one (:func:`pipeline.engine.documents.is_long`) comes back as a
*split*: its bytes are put in Ray's object store once and its page ranges are handed out to the
pool, so a 200-page PDF spreads over the cluster instead of sitting on one core.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pipeline.engine.split import OpenRun, read_range
from pipeline.engine.stage import LongDocument
from pipeline.errors import EngineTimeout, WorkerLost
from pipeline.fleet.raycluster import warm_stage
from pipeline.models import Document, Failure, FetchedObject, Job, PageResult
from pipeline.settings import Settings
from pipeline.sources.fetch import Fetcher, small

# a worker's tasks at once, but for quick small objects: one reading, one waiting. A large object
# is fetched only once its task holds the engine, so more of them would only queue there (and a
# split document's last ranges would wait on one worker while another is idle); on full pages
# (0.3-1 s) one download ahead already hides the fetch, and more measured slower (shared cores)
LARGE_AT_ONCE = 2
QUICK_TASK_S = 0.1  # tasks this quick (a task's share of its worker, on average) are "quick"
TASK_S_WEIGHT = 0.1  # the moving average of a task's share of its worker: weight of the newest


@dataclass
class JobSplit:
    """A long document handed back for its page ranges to be read over the pool."""

    doc: LongDocument
    data_ref: list[Any]  # [ObjectRef] (wrapped so Ray does not resolve it on return)
    owner: str = ""  # the pool's name for the worker whose object store holds (and owns) the bytes


class OcrWorker:
    """One per CPU slot: a warm engine, single-threaded (``OMP_THREAD_LIMIT=1``)."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        self.stage = warm_stage(settings, env)
        self.fetcher = Fetcher(settings)
        self.split_pages = settings.split_pages
        self.split: OpenRun[Any] = OpenRun(self.stage)  # the split document whose ranges come here now
        # the actor runs its tasks on a few threads so one task's download overlaps another's OCR;
        # the engine (and the split document) is one task's at a time, in the order they came
        self.turns = EngineTurns()

    def ready(self) -> tuple[int, str, str]:
        """(pid, Ray node id, reading stamp) of the worker, once its engine is loaded."""
        import ray

        return os.getpid(), ray.get_runtime_context().get_node_id(), self.stage.engine_stamp().reading

    def start(self, job: Job, no_prior: str = "", turn: int | None = None) -> Document | JobSplit | Failure:
        """Fetch the job; reuse an earlier reading of its bytes, or open it and OCR it whole, or
        hand it back split into page ranges.

        A small object (``sources.fetch.small``) is downloaded while another task holds the engine;
        any other is downloaded once this task has it, so one large object is in memory at a time.
        ``no_prior``: the look-ahead found no document of the job's ETag under this stamp
        (``stream.lookahead``): a small object whose bytes that ETag is the MD5 of is not looked up.
        ``turn``: the task's place among those the pool gave this worker (:class:`EngineTurns`).
        """
        from pipeline.sources.fetch import small
        from pipeline.stream.lookahead import no_prior_for

        with self.turns.turn(turn) as engine:
            fetched = None
            if small(job):  # its download and the look for an earlier reading need no engine
                try:
                    fetched = self.fetcher.fetch(job)
                    none = no_prior_for(job, fetched, no_prior, self.stage.engine_stamp().reading)
                    reused = None if none else self.stage.reuse(job, fetched)
                except Exception as exc:
                    return Failure.of(job, exc)
                if reused is not None:
                    return reused
            engine()
            self.split.close()
            return self._start_fetched(job, fetched)

    def _start_fetched(self, job: Job, fetched: FetchedObject | None) -> Document | JobSplit | Failure:
        """Holding the engine: fetch (and look for an earlier reading of) a large object, then read
        it whole or hand it back split (:meth:`pipeline.engine.stage.OcrStage.read_or_defer`)."""
        import ray

        try:
            look_up = fetched is None  # a small object was looked up before it waited for the engine
            fetched = fetched if fetched is not None else self.fetcher.fetch(job)
            done = self.stage.read_or_defer(job, fetched, self.split_pages, look_up)
            return JobSplit(done, [ray.put(fetched.data)]) if isinstance(done, LongDocument) else done
        except Exception as exc:
            return Failure.of(job, exc)

    def pages(self, job: Job, data_ref: list[Any], first: int, last: int,
              turn: int | None = None) -> list[PageResult] | Failure:
        """OCR pages ``first..last`` of a split document (``[ObjectRef]`` of its bytes).

        Ranges of one document often come here in a run, so the document is fetched from the
        object store and opened once per run, not once per range (:class:`OpenRun`).
        """
        import ray

        ref = data_ref[0]
        try:
            with self.turns.turn(turn) as engine:
                engine()
                _, opened = self.split.opened(ref.hex(), lambda: (ref, ray.get(ref)))
                return read_range(self.stage, opened, first, last)
        except Exception as exc:
            self.split.close()
            return Failure.of(job, exc)


class EngineTurns:
    """A worker's engine, taken by its tasks one at a time in the order the pool gave them out.

    A small object downloads before its task waits for the engine, so a task given out later
    could take the engine first; the pool blames a hang on the oldest task it gave a worker
    (:meth:`WorkerPool._stop_overdue`), which is right only when tasks take the engine in turn.
    The pool numbers each worker's tasks as it hands them out (``_Slot.given``) and a task waits for
    its number: the order the actor's threads happen to start them in is not that order (numbered
    on arrival, a later task still took the engine first now and then, and the pool dead-lettered
    the good object waiting behind a hung one). A task without a number (a direct call) takes the
    next one on arrival.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._issued = 0  # numbers taken on arrival by tasks that came without one
        self._now = 0  # the turn whose task may hold the engine
        self._over: set[int] = set()  # turns ended (or passed) before theirs came

    @contextmanager
    def turn(self, number: int | None = None) -> Iterator[Callable[[], None]]:
        """Turn ``number`` (the next, when None); yields the call that waits for it. The turn
        ends with the block (passed, if its task never waited: it needed no engine)."""
        with self._cond:
            if number is None:
                number = self._issued
            self._issued = max(self._issued, number + 1)
        try:
            yield lambda: self._wait(number)
        finally:
            with self._cond:
                self._over.add(number)
                while self._now in self._over:
                    self._over.discard(self._now)
                    self._now += 1
                self._cond.notify_all()

    def _wait(self, turn: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._now == turn)


@dataclass
class Task:
    """A unit of work for a worker: a whole job, or a page range (``first..last``) of a split one."""

    owner: Any  # whatever the runtime uses to find the result's home
    job: Job
    first: int = 0
    last: int = 0
    data_ref: list[Any] | None = None  # [ObjectRef]: left unresolved, the worker fetches it once a run
    submitted: float = 0.0
    no_prior: str = ""  # the stamp under which no document has the job's ETag (``stream.lookahead``)


@dataclass
class _Slot:
    handle: Any
    load: int = 0
    name: str = ""
    node_id: str = ""
    retiring: bool = False  # its node is being drained: no new work; ended once it has none
    reading: str = ""  # its stage's reading stamp
    given: int = 0  # tasks handed to it so far: the next one's turn at its engine
    freed_at: float = 0.0  # when its last result came back (monotonic s)


def _free_since(task: Task, slot: _Slot | None) -> float:
    """When the task's worker was free for it (its clock's start): handed out, or the worker's
    result before it, whichever is later."""
    return max(task.submitted, slot.freed_at if slot is not None else 0.0)


@dataclass
class WorkerPool:
    """Actors with at most ``per_worker`` tasks each (at most ``LARGE_AT_ONCE`` unless the tasks are
    small whole objects and quick: ``task_s`` at most ``QUICK_TASK_S``); replaces dead ones on
    ``resize``."""

    settings: Settings
    per_worker: int = 2
    task_deadline_s: float = 0.0
    slots: dict[str, _Slot] = field(default_factory=dict)
    outstanding: dict[Any, tuple[str, Task]] = field(default_factory=dict)
    starting: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    created: int = 0
    overdue: set[Any] = field(default_factory=set)  # tasks whose worker was stopped for running past the deadline
    task_s: float = 0.0  # moving average of a task's share of its worker: when it was free for it -> result

    def resize(self, target: int, wait: bool = True) -> None:
        """Start actors until ``target`` are live or starting; with ``wait``, until they are ready."""
        import ray

        from pipeline.fleet.raycluster import worker_env

        remote = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0,
                            max_concurrency=self.per_worker)(OcrWorker)
        env = worker_env()
        while self.size + len(self.starting) < target:
            self.created += 1
            handle = remote.remote(self.settings, env)
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
                _, node_id, reading = ray.get(ref)
            except Exception:  # it died before it was ready: resize will try again
                continue
            self.slots[name] = _Slot(handle, 0, name, node_id, reading=reading)

    @property
    def size(self) -> int:
        """Live workers that take work (those of a draining node not counted)."""
        return sum(not s.retiring for s in self.slots.values())

    def readings(self) -> list[str]:
        """The reading stamps of the workers that take work."""
        return [s.reading for s in self.slots.values() if not s.retiring]

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
        """Give the task to the least-loaded worker; False when all are full (at ``LARGE_AT_ONCE``
        but for small whole objects while tasks are quick)."""
        open_slots = [s for s in self.slots.values() if not s.retiring]
        if not open_slots:
            return False
        slot = min(open_slots, key=lambda s: s.load)
        quick = not task.first and small(task.job) and 0 < self.task_s <= QUICK_TASK_S
        if slot.load >= (self.per_worker if quick else min(self.per_worker, LARGE_AT_ONCE)):
            return False
        task.submitted = time.monotonic()
        turn, slot.given = slot.given, slot.given + 1
        if task.first:
            ref = slot.handle.pages.remote(task.job, task.data_ref, task.first, task.last, turn)
        else:
            ref = slot.handle.start.remote(task.job, task.no_prior, turn)
        slot.load += 1
        self.outstanding[ref] = (slot.name, task)
        return True

    def poll(self, timeout_s: float) -> list[tuple[Task, Any]]:
        """Finished tasks with their results (a dead worker gives a ``WorkerLost`` failure)."""
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
        self._stop_overdue()
        return [self._collect(ref) for ref in dict.fromkeys(first + ready)]

    def _collect(self, ref: Any) -> tuple[Task, Any]:
        import ray

        name, task = self.outstanding.pop(ref)
        slot = self.slots.get(name)
        now = time.monotonic()
        seconds = now - _free_since(task, slot)
        if slot is not None:
            slot.load -= 1
            slot.freed_at = now
        self.task_s = seconds if not self.task_s else self.task_s + TASK_S_WEIGHT * (seconds - self.task_s)
        try:
            result = ray.get(ref)
        except Exception as exc:  # the actor died under the task
            self._drop(name)
            if ref in self.overdue:
                self.overdue.discard(ref)
                return task, Failure.of_error(task.job, EngineTimeout(
                    f"the object was still being read {self.task_deadline_s:.0f} s after its OCR worker was "
                    "free for it (a hung decoder or engine); the worker was stopped"))
            return task, Failure.of_error(task.job, WorkerLost(f"the OCR worker died: {type(exc).__name__}"))
        if isinstance(result, JobSplit):
            result.owner = name
        return task, result

    def _stop_overdue(self) -> None:
        """Kill a worker whose task ran far past its deadline (a hung engine or decoder). The
        worker's oldest task is the one that hung (the others wait behind it for the engine): it
        comes back as ``EngineTimeout`` (retrying would hang again), the worker's others as
        ``WorkerLost`` (retried); the pool replaces the worker on its next resize. A task's clock
        starts when its worker was free for it (handed out, or the worker's result before, if
        later), so tasks waiting behind others are not charged for their wait."""
        import ray

        if not self.task_deadline_s:
            return
        oldest: dict[str, tuple[Any, Task]] = {}
        for ref, (name, task) in self.outstanding.items():
            if name not in oldest or task.submitted < oldest[name][1].submitted:
                oldest[name] = (ref, task)
        now = time.monotonic()
        for name, (ref, task) in oldest.items():
            slot = self.slots.get(name)
            if ref in self.overdue or now - _free_since(task, slot) <= self.task_deadline_s:
                continue
            self.overdue.add(ref)
            if slot is not None:
                ray.kill(slot.handle, no_restart=True)

    def _drop(self, name: str) -> None:
        self.slots.pop(name, None)

    def shutdown(self) -> None:
        """Stop every worker."""
        import ray

        for handle in [s.handle for s in self.slots.values()] + [h for h, _ in self.starting.values()]:
            ray.kill(handle, no_restart=True)
        self.slots.clear()
        self.starting.clear()
