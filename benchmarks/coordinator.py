"""The stream coordinator's CPU a message against the number of OCR workers it drives.

    python -m benchmarks.coordinator [--objects 600] [--workers 2,16,2,16]

One-line objects (``benchmarks.smalldocs``) on the local stack, the stream fed 8 messages deep a
worker (at least 40), once per entry of ``--workers`` in turn (more workers than the machine has
cores is the point: the coordinator's CPU a message, not the rate, is what is read). Printed per
run: objects/s and the CPU account per object (``benchmarks.cpuaccount``: "driver" is the
coordinator and Ray's threads in its process). Quoted in ``docs/small-objects.md``, never asserted.
"""

from __future__ import annotations

import argparse
import os

os.environ["OMP_THREAD_LIMIT"] = "1"


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.coordinator``."""
    from benchmarks.small import stream_row
    from benchmarks.smalldocs import small_docs
    from pipeline.devstack.stack import start_stack

    parser = argparse.ArgumentParser(prog="python -m benchmarks.coordinator", description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=600, help="one-line objects a run")
    parser.add_argument("--workers", default="2,16,2,16", help="comma-separated: OCR workers of each run, in turn")
    args = parser.parse_args(argv)
    docs = small_docs(args.objects, "line")
    stack = start_stack()
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            row = stream_row(stack, docs, set(range(workers)), None, feed_depth=max(40, 8 * workers))
            ms = row["cpu_ms_per_object"]
            print(f"{workers:>3} workers: {row['objects_s']:7.2f} objects/s; CPU ms a message: "
                  + "  ".join(f"{group} {value:.2f}" for group, value in ms.items()), flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
