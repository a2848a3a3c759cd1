"""Backfill benchmark: batch pages/s against N x the warm single-engine rate, measured in the same
run on the same pages, and peak memory of the driver and of one OCR worker on a 300-page PDF.

    python -m benchmarks.backfill [--pages 64] [--lines 20] [--cpus 2] [--pdf-pages 300]

The backfill time runs from the call to the summary (listing, Ray Data start-up, actor and
engine start, OCR, bulk writes), so start-up is amortised over ``--pages`` pages. Results are
printed as a table and written to ``out/bench/backfill.json``; they are quoted, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"

from pipeline.devstack.samples import INVOICE, encode, render_page

OUT = Path("out/bench/backfill.json")


def dense_page(number: int, lines: int) -> bytes:
    """A PNG page of ``lines`` lines of Japanese+English text, numbered so no two are identical."""
    text = [f"{INVOICE[i % len(INVOICE)]} 行 {number}-{i}" for i in range(lines)]
    return encode(render_page(text), "PNG")


def single_engine_rate(settings, pages: list[bytes], warmup: int = 2) -> float:
    """Pages/s of one warm engine in this process (decode + recognise + clean, as a worker does)."""
    from pipeline.engine.stage import OcrStage, decode_page

    stage = OcrStage(settings)
    stage.setup()
    for data in pages[:warmup]:
        stage.ocr_page(data, 1)
    started = time.perf_counter()
    for data in pages:
        with stage.open(data) as doc:
            stage.recognise(*decode_page(doc, 1))
    return len(pages) / (time.perf_counter() - started)


def big_pdf(pages: int) -> bytes:
    """A ``pages``-page image-only PDF of short lines (rasterised at 300 DPI on the worker)."""
    return encode([render_page([f"短い {i}"]) for i in range(pages)], "PDF")


def measure_memory(settings, bucket: str, pdf_pages: int, cpus: int) -> dict:
    """Backfill one big PDF in a fresh process (its own local Ray); peak RSS of driver and worker."""
    import boto3

    boto3.client("s3").put_object(Bucket=bucket, Key="bench/big/300 pages.pdf", Body=big_pdf(pdf_pages))
    env = {**os.environ, "OCR_INDEX": settings.index + "-pdf", "OCR_OPENSEARCH_URL": settings.opensearch_url}
    cmd = [sys.executable, "-m", "pipeline", "backfill", f"s3://{bucket}/bench/big/", "--json", "--no-progress",
           "--cpus", str(cpus)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, check=True)
    summary = json.loads(done.stdout)
    return {"pdf_pages": summary["pages"], "pdf_elapsed_s": summary["elapsed_s"],
            "driver_peak_rss_mb": summary["driver_peak_rss_mb"], "worker_peak_rss_mb": summary["worker_peak_rss_mb"]}


def run(args: argparse.Namespace) -> dict:
    """The whole benchmark on the local stack."""
    import boto3

    from pipeline.batch.run import run_backfill
    from pipeline.devstack.stack import start_stack
    from pipeline.fleet.raycluster import connect
    from pipeline.settings import Settings

    stack = start_stack()
    try:
        settings = Settings(opensearch_url=stack.opensearch_url, index="bench-" + uuid.uuid4().hex[:8])
        pages = [dense_page(i, args.lines) for i in range(args.pages)]
        s3 = boto3.client("s3")
        for i, data in enumerate(pages):
            s3.put_object(Bucket=stack.bucket, Key=f"bench/pages/page {i:03d}.png", Body=data)
        before = single_engine_rate(settings, pages[: args.single_pages])
        started = time.monotonic()
        connect(num_cpus=args.cpus)
        ray_init_s = time.monotonic() - started
        summary = run_backfill(settings, [f"s3://{stack.bucket}/bench/pages/"], progress=False)
        import ray

        ray.shutdown()
        after = single_engine_rate(settings, pages[: args.single_pages])  # the machine may be shared: bracket it
        single = (before + after) / 2
        result = {
            "machine": f"{platform.node()} {os.cpu_count()} cores", "cpus": args.cpus, "workers": summary.workers,
            "pages": summary.pages, "failed": summary.failed, "single_engine_pages_per_s": round(single, 3),
            "single_before_after": [round(before, 3), round(after, 3)], "load_avg_1m": round(os.getloadavg()[0], 2),
            "ray_init_s": round(ray_init_s, 2), "backfill_elapsed_s": round(summary.elapsed_s, 2),
            "backfill_pages_per_s": round(summary.pages_per_s, 3),
            "ratio_vs_n_x_single": round(summary.pages_per_s / (summary.workers * single), 3),
            "backfill_driver_peak_rss_mb": summary.driver_rss_mb, "backfill_worker_peak_rss_mb": summary.worker_rss_mb,
        }
        if args.pdf_pages:
            result |= measure_memory(settings, stack.bucket, args.pdf_pages, args.cpus)
        return result
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    """Run, print a table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=64, help="pages in the backfill (>= 60 to amortise start-up)")
    parser.add_argument("--lines", type=int, default=20, help="text lines per page")
    parser.add_argument("--single-pages", type=int, default=16, help="pages timed on the single warm engine")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--pdf-pages", type=int, default=300, help="pages of the memory PDF (0: skip)")
    args = parser.parse_args(argv)
    result = run(args)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    print("\n".join(f"{k:<{width}}  {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
