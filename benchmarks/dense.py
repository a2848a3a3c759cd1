"""The stream against the limit on dense pages (a full A4 of text, like real invoices and
contracts): where decode and hand-offs weigh less than on the harness's light pages.

    python -m benchmarks.dense [--pages 24] [--lines 45] [--cores 2]
"""

from __future__ import annotations

import argparse
import random

from benchmarks.corpus import A4_300, FONT_300, BenchDoc, Query, compose
from benchmarks.limit import measure_limit
from benchmarks.report import decode_line, with_decode
from benchmarks.streamrun import measure_stream
from pipeline.devstack.samples import encode
from pipeline.settings import Settings

WORDS = ("請求書", "株式会社", "合計金額", "御中", "納期", "契約", "Invoice", "total", "JPY", "Delivery")


def dense_docs(pages: int, lines: int, seed: int = 11) -> list[BenchDoc]:
    """``pages`` one-page documents, each ``lines`` lines of mixed Japanese and English."""
    rng = random.Random(seed)
    docs = []
    for n in range(pages):
        text = [" ".join(rng.choice(WORDS) for _ in range(6)) + f" {n}-{i}" for i in range(lines)]
        image = compose(text, A4_300, FONT_300)
        docs.append(BenchDoc(f"dense/{n:03d}.png", encode(image, "PNG"), "dense", ["\n".join(text)],
                             Query("請求書", (str(n),))))
    return docs


def main(argv: list[str] | None = None) -> int:
    """Limit, then stream, then limit again, on the same dense pages; print the ratio."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dense", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--lines", type=int, default=45)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    from pipeline.devstack.stack import start_stack

    docs = dense_docs(args.pages, args.lines)
    settings = Settings()
    before = measure_limit(docs, args.cores, settings)
    stack = start_stack()
    try:
        stream = measure_stream(stack, docs, args.cores)
    finally:
        import ray

        ray.shutdown()
        stack.stop()
    after = measure_limit(docs, args.cores, settings)
    limit = (before.pages_s + after.pages_s) / 2
    print(f"dense pages: {args.pages} x {args.lines} lines, {args.cores} cores")
    print(f"limit  {limit:.3f} pages/s (before {before.pages_s:.3f}, after {after.pages_s:.3f})")
    print(f"stream {stream.pages_s:.3f} pages/s  ratio {stream.pages_s / limit:.3f}")
    decoded = with_decode(limit, args.cores, before.decode_s_per_page + after.decode_s_per_page)
    if decoded:
        print(decode_line(decoded, stream.pages_s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
