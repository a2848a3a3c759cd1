"""The stream service end to end on the local stack: objects uploaded to S3 (events -> SQS) before the
service starts, so the run measures throughput, not arrival; then a paced run for latency.

moto's SQS spends CPU on every receive and delete in proportion to the queue's depth (~5 ms a
message at 20 deep, ~15 at 100, ~127 at 1,000: receive, delete and send again, measured on 3
December), which AWS's SQS does not charge to the node. With ``feed_depth`` a run keeps the queue
shallow instead of pre-filled: the objects' own S3 event messages are taken off the queue as
they are put (:func:`captured_events`) and fed back while the service runs, never more than
``feed_depth`` ahead of what it has indexed (:class:`ShallowFeed`).
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from benchmarks.corpus import BenchDoc
from benchmarks.rss import RssSampler
from pipeline.fleet.raycluster import connect


@dataclass
class StreamResult:
    """The service's per-document records, its wall time, the index it wrote and worker peak RSS."""

    records: list[dict[str, Any]]
    wall_s: float
    index: str
    settings: Any
    peak_rss_mb: dict[int, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    uploaded_at: dict[str, float] = field(default_factory=dict)

    def latency(self, record: dict[str, Any]) -> float:
        """Upload (= S3 event sent to SQS) -> indexed, for one document record."""
        return float(record["indexed_at"]) - self.uploaded_at.get(record["key"], float(record["received_at"]))

    @property
    def pages(self) -> int:
        """Pages indexed."""
        return sum(int(r["pages"]) for r in self.records)

    @property
    def pages_s(self) -> float:
        """Pages per second from the first receive to the last index."""
        return self.pages / self.wall_s if self.wall_s > 0 else 0.0


def bench_settings(stack: Any, label: str) -> Any:
    """Fresh bucket/queue/DLQ and index for one run; everything else the production defaults."""
    from pipeline.devstack.stack import create_resources
    from pipeline.settings import Settings

    suffix = f"-{label}-{uuid.uuid4().hex[:6]}"
    res = create_resources(stack, suffix=suffix)
    settings = Settings(queue_url=res.queue_url, dlq_url=res.dlq_url, opensearch_url=stack.opensearch_url,
                        index=f"bench{suffix}")
    return settings, res.bucket


def upload(docs: list[BenchDoc], bucket: str, uploaded_at: dict[str, float] | None = None) -> dict[str, float]:
    """Put each document (moto's S3 notifies the queue); returns the wall-clock time of each put."""
    import boto3

    s3 = boto3.client("s3")
    times = uploaded_at if uploaded_at is not None else {}
    for doc in docs:
        s3.put_object(Bucket=bucket, Key=doc.key, Body=doc.data)
        times[doc.key] = time.time()
    return times


def captured_events(docs: list[BenchDoc], bucket: str, queue_url: str, chunk: int = 50,
                    timeout_s: float = 60, uploaded_at: dict[str, float] | None = None) -> list[str]:
    """Put ``docs`` a ``chunk`` at a time (moto's S3 notifies the queue) and take each chunk's event
    messages off the queue as they come (``s3:TestEvent`` dropped): the bodies, in order, with the
    queue never deeper than a chunk."""
    import boto3

    from pipeline.sources.sqs import SqsQueue, parse_body

    queue, bodies = SqsQueue(boto3.client("sqs"), queue_url), []
    for start in range(0, len(docs), chunk):
        part = docs[start:start + chunk]
        upload(part, bucket, uploaded_at)
        want, deadline = len(bodies) + len(part), time.monotonic() + timeout_s
        while len(bodies) < want:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{want - len(bodies)} S3 events did not reach the queue in {timeout_s:g} s")
            messages = queue.receive(10, wait_s=1)
            bodies += [m.body for m in messages if parse_body(m.body)]
            queue.delete_many(messages)
    return bodies


def send_batch(sqs: Any, queue_url: str, bodies: list[str]) -> None:
    """Send up to ten ``bodies`` in one ``SendMessageBatch`` (the pipeline never sends: a benchmark's feed)."""
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])


class ShallowFeed(threading.Thread):
    """Sends ``bodies`` to the queue, ten a request, never more than ``depth`` ahead of ``done()``
    (what the service has indexed): a queue as deep as a stream that keeps up sees."""

    def __init__(self, queue_url: str, bodies: list[str], depth: int, done: Any) -> None:
        super().__init__(name="shallow-feed", daemon=True)
        import boto3

        self.sqs, self.queue_url, self.bodies = boto3.client("sqs"), queue_url, bodies
        self.depth, self.done = depth, done
        self.sent = 0
        self.stop = threading.Event()

    def send_room(self) -> None:
        """Send what the depth has room for now (whole batches of ten, or the last ones)."""
        while self.sent < len(self.bodies):
            room = min(10, self.depth - (self.sent - self.done()), len(self.bodies) - self.sent)
            if room < min(10, len(self.bodies) - self.sent):
                return
            send_batch(self.sqs, self.queue_url, self.bodies[self.sent:self.sent + room])
            self.sent += room

    def run(self) -> None:
        while self.sent < len(self.bodies) and not self.stop.wait(0.005):
            self.send_room()


def fill_queue(docs: list[BenchDoc], bucket: str, queue_url: str, feed_depth: int = 0,
               uploaded_at: dict[str, float] | None = None) -> list[str]:
    """Put ``docs`` (each put's time into ``uploaded_at``); with no ``feed_depth``, wait until the
    queue holds every event (pre-filled) and return none; otherwise return their event bodies to
    feed (:class:`ShallowFeed`)."""
    if feed_depth:
        return captured_events(docs, bucket, queue_url, uploaded_at=uploaded_at)
    upload(docs, bucket, uploaded_at)
    wait_for_queue(queue_url, len(docs))
    return []


def run_fed(service: Any, settings: Any, bodies: list[str], feed_depth: int) -> None:
    """Run ``service`` to its end, ``bodies`` (when any) fed at most ``feed_depth`` ahead of it."""
    if not bodies:
        service.run()
        return
    feed = ShallowFeed(settings.queue_url, bodies, feed_depth, lambda: len(service.records))
    feed.send_room()  # the first ``feed_depth`` before the service starts: it does not find the queue empty
    feed.start()
    try:
        service.run()
    finally:
        feed.stop.set()
        feed.join(timeout=5)


def wait_for_queue(queue_url: str, count: int, timeout_s: float = 60) -> None:
    """Block until ``count`` messages are visible (the queue is full before the service starts)."""
    import boto3

    from pipeline.sources.sqs import SqsQueue

    queue = SqsQueue(boto3.client("sqs"), queue_url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if queue.depth()["visible"] >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the queue did not reach {count} messages in {timeout_s:g} s")


def measure_stream(stack: Any, docs: list[BenchDoc], cores: int, idle_s: float = 2.0,
                   meter: Any = None, feed_depth: int = 0) -> StreamResult:
    """Fill the queue with ``docs`` (or, with ``feed_depth``, feed it that shallow), then run the
    service on ``cores`` CPUs until the queue is quiet; ``meter``: a context manager entered around
    the service's run alone (e.g. a CPU account)."""
    from pipeline.stream.build import build_stream

    settings, bucket = bench_settings(stack, f"s{cores}")
    uploaded: dict[str, float] = {}
    bodies = fill_queue(docs, bucket, settings.queue_url, feed_depth, uploaded)
    connect(num_cpus=cores)  # address="local": never someone else's `ray start` cluster
    service = build_stream(settings, exit_when_idle_s=idle_s, num_cpus=cores, keep_records=True)
    with RssSampler() as rss, meter or nullcontext():
        run_fed(service, settings, bodies, feed_depth)
    return _result(service, settings, rss, uploaded)


def measure_paced(stack: Any, docs: list[BenchDoc], cores: int, rate_pages_s: float) -> StreamResult:
    """Upload ``docs`` one by one at ``rate_pages_s`` while the service runs: message-to-indexed latency."""
    from pipeline.stream.build import build_stream

    settings, bucket = bench_settings(stack, f"p{cores}")
    interval = max(d.page_count for d in docs) / rate_pages_s
    connect(num_cpus=cores)  # address="local": never someone else's `ray start` cluster
    service = build_stream(settings, exit_when_idle_s=max(3.0, 2 * interval), num_cpus=cores, keep_records=True)

    uploaded: dict[str, float] = {}

    def feed() -> None:
        for doc in docs:
            upload([doc], bucket, uploaded)
            time.sleep(doc.page_count / rate_pages_s)

    feeder = threading.Thread(target=feed, name="paced-uploader", daemon=True)
    with RssSampler() as rss:
        feeder.start()
        service.run()
    feeder.join(timeout=5)
    return _result(service, settings, rss, uploaded)


def _result(service: Any, settings: Any, rss: RssSampler, uploaded: dict[str, float]) -> StreamResult:
    records = list(service.records)
    wall = max(r["indexed_at"] for r in records) - min(r["received_at"] for r in records) if records else 0.0
    return StreamResult(records, wall, settings.index, settings, dict(rss.peaks_mb), dict(service.counts),
                        dict(uploaded))
