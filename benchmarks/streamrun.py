"""The stream service end to end on the local stack: objects uploaded to S3 (events -> SQS) before the
service starts, so the run measures throughput, not arrival; then a paced run for latency.
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
                   meter: Any = None) -> StreamResult:
    """Fill the queue with ``docs``, then run the service on ``cores`` CPUs until the queue is quiet;
    ``meter``: a context manager entered around the service's run alone (e.g. a CPU account)."""
    from pipeline.stream.build import build_stream

    settings, bucket = bench_settings(stack, f"s{cores}")
    uploaded = upload(docs, bucket)
    wait_for_queue(settings.queue_url, len(docs))
    connect(num_cpus=cores)  # address="local": never someone else's `ray start` cluster
    service = build_stream(settings, exit_when_idle_s=idle_s, num_cpus=cores, keep_records=True)
    with RssSampler() as rss, meter or nullcontext():
        service.run()
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
