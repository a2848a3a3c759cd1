"""Issue 2's two measurements, on the same inputs in one run (a benchmark, never a test):

1. the OCR stage in one process (fetch from S3, sniff, decode, recognise, clean, assemble)
   against the warm engine alone on the same decoded pages: the stage's overhead;
2. bulk indexing (``BulkWriter``) against one request per document, docs/s on osmem-server.

    python -m benchmarks.foundation [--pages 12] [--docs 2000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.corpus import generate
from pipeline.models import Job
from pipeline.settings import Settings


def stage_overhead(stack: Any, pages: int, quick: bool) -> dict[str, Any]:
    """Stage seconds vs engine seconds per page, interleaved page by page to share any noise."""
    import boto3

    from pipeline.devstack.stack import create_resources
    from pipeline.engine.stage import OcrStage

    docs = [d for d in generate(pages, quick=quick, degraded=False) if d.page_count == 1][:pages]
    res = create_resources(stack, suffix="-stage")
    s3 = boto3.client("s3")
    for d in docs:
        s3.put_object(Bucket=res.bucket, Key=d.key, Body=d.data)
    from pipeline.sources.fetch import Fetcher

    stage, fetcher = OcrStage(Settings()), Fetcher(Settings())
    stage.setup()
    images = [stage.open(d.data).page(1).image for d in docs]
    stage.engine.recognise(images[0], 600)  # warm-up
    stage.process_fetched(Job(res.bucket, docs[0].key), fetcher.fetch(Job(res.bucket, docs[0].key)))
    engine_s = stage_s = 0.0
    for doc, image in zip(docs, images, strict=True):
        started = time.perf_counter()
        stage.engine.recognise(image, 600)
        engine_s += time.perf_counter() - started
        started = time.perf_counter()
        job = Job(res.bucket, doc.key)
        stage.process_fetched(job, fetcher.fetch(job))
        stage_s += time.perf_counter() - started
    return {
        "pages": len(docs),
        "engine_pages_per_s": len(docs) / engine_s,
        "stage_pages_per_s": len(docs) / stage_s,
        "stage_overhead_pct": 100 * (stage_s - engine_s) / engine_s,
    }


def bulk_vs_single(stack: Any, n_docs: int) -> dict[str, Any]:
    """docs/s with bounded bulk requests vs one index request per document."""
    from pipeline.sinks.opensearch import BulkWriter, ensure_index, make_client

    client = make_client(Settings(opensearch_url=stack.opensearch_url))
    text = "請求書 株式会社サンプル 御中 合計金額 ¥128,400 Invoice total 128,400 JPY\n" * 20
    docs = [(f"bench-{i}", {"key": f"k/{i}", "bucket": "b", "text": text}) for i in range(n_docs)]
    ensure_index(client, "bench-bulk")
    ensure_index(client, "bench-single")
    started = time.perf_counter()
    results = BulkWriter(client, "bench-bulk").write(docs)
    bulk_s = time.perf_counter() - started
    assert all(r.ok for r in results.values())
    single_n = min(n_docs, 300)
    started = time.perf_counter()
    for doc_id, source in docs[:single_n]:
        client.index(index="bench-single", id=doc_id, body=source)
    single_s = time.perf_counter() - started
    return {
        "docs": n_docs,
        "bulk_docs_per_s": n_docs / bulk_s,
        "single_docs_per_s": single_n / single_s,
        "speedup": (n_docs / bulk_s) / (single_n / single_s),
    }


def main(argv: list[str] | None = None) -> int:
    """Run both measurements on a fresh local stack and print them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.foundation", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="small pages (seconds, not minutes)")
    parser.add_argument("--out", type=Path, default=Path("out/bench/foundation.json"))
    args = parser.parse_args(argv)
    from pipeline.devstack.stack import start_stack

    stack = start_stack()
    try:
        result = {"stage": stage_overhead(stack, args.pages, args.quick), "bulk": bulk_vs_single(stack, args.docs)}
    finally:
        stack.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    st, bk = result["stage"], result["bulk"]
    print(f"stage   {st['pages']} pages: engine {st['engine_pages_per_s']:.3f} pages/s, "
          f"stage {st['stage_pages_per_s']:.3f} pages/s, overhead {st['stage_overhead_pct']:+.1f}%")
    print(f"bulk    {bk['docs']} docs: bulk {bk['bulk_docs_per_s']:.0f} docs/s, "
          f"one request per doc {bk['single_docs_per_s']:.0f} docs/s, x{bk['speedup']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
