"""One long PDF backfilled whole on one actor, and spread over the pool 8 pages at a time.

    python -m benchmarks.longdoc [--pages 40] [--lines 20] [--cpus 2] [--rounds 2]

The same object is backfilled with ``OCR_SPLIT_PAGES`` 0 (read whole by one actor) and 8
(spread), alternately, ``--rounds`` times each, into fresh indexes on one local Ray; wall time
from the call to the summary (listing, both passes' start-up, OCR, writes). Printed, never
asserted.
"""

from __future__ import annotations

import argparse
import io
import os
import time
import uuid

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"


def long_pdf(pages: int, lines: int) -> bytes:
    """A ``pages``-page image-only PDF of full A4 pages (``benchmarks.backfill.dense_page``)."""
    from PIL import Image

    from benchmarks.backfill import dense_page
    from pipeline.devstack.samples import encode

    return encode([Image.open(io.BytesIO(dense_page(n, lines))) for n in range(pages)], "PDF")


def main(argv: list[str] | None = None) -> int:
    """Backfill the PDF whole and spread, alternately; print each run's wall time."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.longdoc", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="pages of the PDF")
    parser.add_argument("--lines", type=int, default=20, help="text lines per page")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each way")
    args = parser.parse_args(argv)

    import boto3
    import ray

    from pipeline.batch.run import run_backfill
    from pipeline.devstack.stack import start_stack
    from pipeline.fleet.raycluster import connect
    from pipeline.settings import Settings

    stack = start_stack()
    try:
        boto3.client("s3").put_object(Bucket=stack.bucket, Key="long/doc.pdf", Body=long_pdf(args.pages, args.lines))
        connect(num_cpus=args.cpus)
        for split in (0, 8) * args.rounds:
            settings = Settings(opensearch_url=stack.opensearch_url, index="long-" + uuid.uuid4().hex[:8],
                                split_pages=split)
            started = time.monotonic()
            done = run_backfill(settings, [f"s3://{stack.bucket}/long/"], progress=False)
            how = "spread 8 pages a task" if split else "whole, one actor    "
            print(f"{how}  {done.pages} pages  {time.monotonic() - started:6.2f} s  failed {done.failed}", flush=True)
        ray.shutdown()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
