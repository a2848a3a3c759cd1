"""Parts of the stream service that hold no server (plain data): the bulk buffer's flush rule,
the receive credits the loop and the receiver thread share, when the look-ahead's mark lets a
worker skip its search for an earlier reading, and a worker's turns at its engine."""

from __future__ import annotations

import hashlib
import time

from pipeline.models import Document, FetchedObject, Job
from pipeline.stream.bulk import BulkBuffer
from pipeline.stream.intake import Credits
from pipeline.stream.lookahead import md5_etag, no_prior_for


def _doc(doc_id: str, text: str) -> Document:
    return Document(doc_id=doc_id, bucket="b", key=doc_id, version_id="", etag="e", size=1, content_type="image/png",
                    page_count=1, text=text, pages=[], engine="tesseract", languages="jpn+eng", timings={},
                    processed_at="")


class _Writer:
    def __init__(self) -> None:
        self.requests: list[list[str]] = []

    def write(self, docs):
        ids = [doc_id for doc_id, _ in docs]
        self.requests.append(ids)
        return {doc_id: f"ok {doc_id}" for doc_id in ids}


def test_a_full_request_of_text_bytes_is_due_before_its_delay() -> None:
    buffer = BulkBuffer(max_docs=100, max_bytes=30, max_delay_s=60)
    buffer.add(_doc("a", "日本語" * 3), "job-a")  # 27 bytes of UTF-8
    assert not buffer.due()
    buffer.add(_doc("b", "x" * 3), "job-b")
    assert buffer.due(), "30 bytes of text: a full request"


def test_count_delay_and_nothing_else_coming_make_it_due() -> None:
    buffer = BulkBuffer(max_docs=2, max_bytes=10**6, max_delay_s=0.05)
    assert not buffer.due(nothing_else_coming=True), "an empty buffer is never due"
    buffer.add(_doc("a", "x"), "job-a")
    assert not buffer.due() and buffer.due(nothing_else_coming=True)
    time.sleep(0.06)
    assert buffer.due(), "the oldest waited max_delay_s"
    buffer.add(_doc("b", "y"), "job-b")
    assert len(buffer) == 2 and buffer.due()


def test_a_flush_answers_every_job_that_waited_on_a_document_once() -> None:
    buffer, writer = BulkBuffer(max_docs=10, max_bytes=10**6, max_delay_s=1), _Writer()
    buffer.add(_doc("a", "text"), "message-1")
    buffer.add(_doc("a", "text"), "message-2")  # the same object version named twice
    buffer.add(_doc("b", "more"), "message-3")
    flushed = buffer.flush(writer)
    assert writer.requests == [["a", "b"]], "one document once in the request"
    assert {f.doc.doc_id: (f.waiters, f.outcome) for f in flushed} == {
        "a": (["message-1", "message-2"], "ok a"), "b": (["message-3"], "ok b")}
    assert len(buffer) == 0 and buffer.text_bytes == 0


def test_credits_are_never_counted_twice_while_a_receive_is_out() -> None:
    credits = Credits()
    credits.set(15)
    assert credits.take(10) == 10
    credits.set(15)  # the loop's count cannot see the ten being received yet
    assert credits.take(10) == 5, "the ten asked for are not free again"
    credits.received()
    credits.set(3)
    assert credits.take(10) == 3 and credits.take(10) == 0


def test_credits_wait_for_room_worth_a_receive() -> None:
    credits = Credits()
    credits.set(7, least=10)
    assert credits.take(10) == 0, "seven free of the ten worth a receive: wait"
    credits.set(12, least=10)
    assert credits.take(10) == 10
    credits.received()
    credits.set(4, least=10)
    assert credits.take(3) == 3, "a receive asking for fewer than the batch takes what it asks"
    credits.received()
    credits.set(1, least=1)
    assert credits.take(10) == 1, "any room at all when the workers could run short"


def test_the_look_aheads_mark_holds_only_for_the_bytes_whose_md5_was_looked_up() -> None:
    data = b"one-line scan"
    md5 = hashlib.md5(data).hexdigest()
    fetched = FetchedObject(data, len(data), md5, "", 0.0, "sha")
    job = Job("b", "k", etag=md5, size=len(data))
    assert md5_etag(md5) and not md5_etag(md5[:30] + "-2") and not md5_etag(md5.upper())
    assert no_prior_for(job, fetched, "stamp", "stamp")
    assert not no_prior_for(job, fetched, "", "stamp"), "not marked"
    assert not no_prior_for(job, fetched, "other stamp", "stamp"), "marked for another worker's stamp"
    assert not no_prior_for(Job("b", "k", etag="0" * 32), fetched, "stamp", "stamp"), "another version looked up"
    other = FetchedObject(b"other bytes", 11, md5, "", 0.0, "sha")
    assert not no_prior_for(job, other, "stamp", "stamp"), "an ETag that is not the bytes' MD5 (SSE-KMS)"


def test_a_failed_look_ahead_marks_nothing_and_rests() -> None:
    from pipeline.devstack.stack import free_port
    from pipeline.settings import Settings
    from pipeline.sinks.opensearch import OpenSearchReadings
    from pipeline.stream.lookahead import LookAhead
    from pipeline.stream.workers import Task

    nobody = Settings(opensearch_url=f"http://127.0.0.1:{free_port()}", opensearch_timeout_s=1)  # refused
    lookahead = LookAhead(OpenSearchReadings.from_settings(nobody))
    tasks = [Task(("m", 0), Job("b", "k", etag="a" * 32, size=10))]
    lookahead.mark(tasks, ["stamp"])
    assert tasks[0].no_prior == "" and lookahead.searches == 1, "no index: each worker looks up its own"
    lookahead.mark(tasks, ["stamp"])
    assert lookahead.searches == 1, "resting after a failure: the loop does not wait on the index each receive"


def test_a_workers_tasks_take_the_engine_in_the_order_they_were_given_out() -> None:
    import threading

    from pipeline.stream.workers import EngineTurns

    turns, order = EngineTurns(), []

    def later() -> None:
        # given out second, but its thread started first and its download was quicker
        with turns.turn(1) as engine:
            engine()
            order.append("second")

    thread = threading.Thread(target=later)
    thread.start()
    thread.join(timeout=0.3)
    assert thread.is_alive() and order == [], "the later task waits for the earlier one's turn"
    with turns.turn(0) as engine:
        engine()
        order.append("first")
    thread.join(timeout=5)
    assert order == ["first", "second"]
    with turns.turn(2):
        pass  # a task that needed no engine (a reused reading, a failed fetch) passes its turn
    with turns.turn(3) as engine:
        engine()  # returns at once
    with turns.turn() as engine:  # a direct call, without a number: the next one
        engine()


class _Handle:
    """Stands in for a worker's Ray actor handle: records the tasks handed to it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.start = self._method("start")
        self.pages = self._method("pages")

    def _method(self, name: str):
        handle = self

        class _Remote:
            @staticmethod
            def remote(*args):
                handle.calls.append(name)
                return object()  # the task's ref

        return _Remote


def _pool(per_worker: int):
    from pipeline.settings import Settings
    from pipeline.stream.workers import WorkerPool, _Slot

    pool = WorkerPool(Settings(), per_worker=per_worker, task_deadline_s=50.0)
    pool.slots["w"] = _Slot(_Handle(), name="w")
    return pool


def test_a_worker_takes_more_small_objects_at_once_than_other_tasks_while_they_are_quick() -> None:
    from pipeline.stream.workers import LARGE_AT_ONCE, Task

    pool = _pool(per_worker=4)
    pool.task_s = 0.02  # one-line scans
    small = [Task(("m", i), Job("b", f"k{i}", size=3_400)) for i in range(5)]
    assert [pool.submit(t) for t in small] == [True] * 4 + [False], "small objects download ahead: four at once"
    for task_s in (0.0, 0.5):  # not known yet; full pages (0.5 s each): one download ahead is enough
        pool = _pool(per_worker=4)
        pool.task_s = task_s
        assert [pool.submit(t) for t in small[:3]] == [True] * LARGE_AT_ONCE + [False], task_s
    pool = _pool(per_worker=4)
    pool.task_s = 0.02
    large = [Task(("m", i), Job("b", f"k{i}", size=40 * 2**20)) for i in range(3)]
    unknown = Task(("m", 9), Job("b", "k9"))
    assert [pool.submit(t) for t in large] == [True] * LARGE_AT_ONCE + [False]
    assert not pool.submit(unknown), "a size not known is not small"
    pool = _pool(per_worker=4)
    pool.task_s = 0.02
    ranges = [Task(("m", 0), Job("b", "k", size=3_400), first=1 + 8 * i, last=8 + 8 * i, data_ref=[None])
              for i in range(3)]
    assert [pool.submit(t) for t in ranges] == [True] * LARGE_AT_ONCE + [False], "a split document's ranges"
    assert pool.slots["w"].handle.calls == ["pages"] * LARGE_AT_ONCE


def test_a_task_waiting_behind_its_workers_others_is_not_charged_for_the_wait() -> None:
    from pipeline.stream.workers import Task

    pool = _pool(per_worker=4)
    pool.task_s = 0.02
    task = Task(("m", 0), Job("b", "k", size=3_400))
    assert pool.submit(task)
    task.submitted -= 100.0  # handed out 100 s ago, past the 50 s deadline ...
    pool.slots["w"].freed_at = time.monotonic() - 1.0  # ... but its worker was busy until a second ago
    pool._stop_overdue()  # would stop the worker (Ray's kill: not an actor here) were it charged from handing out
    assert not pool.overdue
    ref = next(iter(pool.outstanding))
    _, back = pool.outstanding[ref]
    assert back is task



def test_quick_objects_are_held_up_to_ten_a_worker_and_received_ten_at_a_time() -> None:
    from pipeline.stream.intake import free_room, hold_per_worker, receive_at_least

    assert hold_per_worker(2, 0.0) == 2, "task time not known yet: the prefetch"
    assert hold_per_worker(2, 1.5) == 2, "slow objects: the prefetch"
    assert hold_per_worker(2, 0.25) == 4 and hold_per_worker(2, 0.01) == 10, "about a second's work, at most ten"
    assert free_room(workers=2, hold=10, needing_ocr=5, waiting=3) == 12
    assert free_room(workers=2, hold=2, needing_ocr=6, waiting=0) == 0, "never below nothing"
    assert free_room(workers=0, hold=2, needing_ocr=0, waiting=0) == 1, "a pool still starting: room for one"
    assert receive_at_least(workers=2, hold=10, tasks_per_worker=4) == 10, "work in hand: wait for a whole receive"
    assert receive_at_least(workers=2, hold=2, tasks_per_worker=4) == 1, "workers could run short: any room"
