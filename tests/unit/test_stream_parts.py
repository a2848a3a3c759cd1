"""Parts of the stream service that hold no server (plain data): the bulk buffer's flush rule and
the receive credits the loop and the receiver thread share."""

from __future__ import annotations

import time

from pipeline.models import Document
from pipeline.stream.bulk import BulkBuffer
from pipeline.stream.intake import Credits


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
