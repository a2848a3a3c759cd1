"""The main job on the local stack: sample documents -> S3 -> event notifications -> SQS ->
the stream service -> OpenSearch; then what was indexed, what went to the DLQ and why, a
Japanese search, and pages per second."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.devstack.samples import sample_documents
from pipeline.devstack.stack import start_stack
from pipeline.settings import load_settings
from pipeline.sinks.opensearch import make_client, refresh
from pipeline.sources.dlq import peek, summarise

SEARCHES = ("請求書", "秘密保持", "納期", "invoice")


def run_demo(workdir: Path, num_cpus: int | None = None, idle_s: float = 3.0) -> int:
    """Run the whole stream path once on generated documents and print the results."""
    import boto3

    workdir.mkdir(parents=True, exist_ok=True)
    print("starting the local stack (moto S3+SQS, osmem-server OpenSearch) ...", flush=True)
    stack = start_stack(log_dir=workdir)
    try:
        settings = load_settings()
        samples = sample_documents()
        s3 = boto3.client("s3")
        for sample in samples:
            s3.put_object(Bucket=stack.bucket, Key=sample.key, Body=sample.data)
        print(f"uploaded {len(samples)} documents to s3://{stack.bucket}/incoming/ (S3 events -> SQS)", flush=True)
        from pipeline.stream.build import build_stream

        print("starting Ray and the OCR workers ...", flush=True)
        service = build_stream(settings, exit_when_idle_s=idle_s, num_cpus=num_cpus)
        workers = service.pool.size
        started = time.perf_counter()
        service.run()
        elapsed = time.perf_counter() - started - idle_s
        client = make_client(settings)
        refresh(client, settings.index)
        _print_indexed(client, settings.index)
        _print_dlq(boto3.client("sqs"), stack.dlq_url)
        _print_searches(client, settings.index)
        _print_speed(service, elapsed, workers)
        return 0
    finally:
        import ray

        ray.shutdown()
        stack.stop()


def _print_indexed(client: Any, index: str) -> None:
    hits = client.search(index=index, body={"size": 100, "sort": [{"key": "asc"}],
                                            "_source": ["key", "page_count", "confidence", "content_type", "text"]})
    rows = hits["hits"]["hits"]
    print(f"\nindexed ({len(rows)} documents):")
    for hit in rows:
        src = hit["_source"]
        conf = "-" if src.get("confidence") is None else f"{src['confidence']:.0f}"
        print(f"  {src['key']:<42} {src['content_type']:<16} pages={src['page_count']:<3} conf={conf:<4}"
              f" {src['text'][:40]!r}")


def _print_dlq(sqs: Any, dlq_url: str) -> None:
    messages = peek(sqs, dlq_url)
    summary = summarise(messages)
    print(f"\ndead-letter queue ({len(messages)} messages):")
    for error_class, count in summary.counts.items():
        for example in summary.examples[error_class]:
            print(f"  {error_class} x{count}: {example}")


def _print_searches(client: Any, index: str) -> None:
    print("\nsearches (text.ja, kuromoji):")
    for word in SEARCHES:
        query = {"multi_match": {"query": word, "fields": ["text.ja", "key.text"], "operator": "and"}}
        result = client.search(index=index, body={"query": query, "_source": ["key"]})
        keys = [h["_source"]["key"] for h in result["hits"]["hits"]]
        print(f"  {word!r}: {len(keys)} hit(s) {keys}")


def _print_speed(service: Any, elapsed: float, workers: int) -> None:
    pages = service.metrics.pages
    rate = pages / elapsed if elapsed > 0 else 0.0
    print(f"\n{pages} pages in {elapsed:.1f} s with {workers} OCR workers: {rate:.2f} pages/s"
          f""
          " (workers already warm; benchmarks/ measures ratios against the bare engine)")
    print(f"messages: {service.counts}")
