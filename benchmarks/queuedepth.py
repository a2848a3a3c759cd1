"""moto's SQS: CPU a message against the queue's depth (why ``benchmarks.small --feed-depths``).

    python -m benchmarks.queuedepth [--depths 20,100,400,1000] [--messages 100]

For each depth, a fresh queue on the local stack is filled with that many S3-event-sized
messages; then ``--messages`` of them are taken ten at a time (receive, delete the ten, send ten
back, so the depth stays) and moto's server's CPU (``/proc``) over those calls is divided by the
messages taken. AWS's SQS charges none of this to the node; moto's grows with the depth, so a
stream benchmark on a pre-filled queue of 1,000 messages measures moto more than the stream.
Printed; never asserted.
"""

from __future__ import annotations

import argparse
import json

BODY = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
    "bucket": {"name": "bench"}, "object": {"key": "scans/" + "k" * 34, "size": 3400, "eTag": "0" * 32}}}]})


def ms_a_message(sqs, moto_pid: int, depth: int, messages: int) -> float:
    """moto's CPU ms a message taken (receive, delete, send back) from a queue ``depth`` deep."""
    from benchmarks.cpuaccount import cpu_seconds
    from benchmarks.streamrun import send_batch
    from pipeline.sources.sqs import SqsQueue

    url = sqs.create_queue(QueueName=f"depth-{depth}")["QueueUrl"]
    queue = SqsQueue(sqs, url)
    for _ in range(0, depth, 10):
        send_batch(sqs, url, [BODY] * 10)
    taken, before = 0, cpu_seconds(moto_pid) or 0.0
    while taken < messages:
        got = queue.receive(10, wait_s=0)
        if not got:
            break
        taken += len(got)
        queue.delete_many(got)
        send_batch(sqs, url, [BODY] * len(got))
    return 1000 * ((cpu_seconds(moto_pid) or 0.0) - before) / max(1, taken)


def main(argv: list[str] | None = None) -> int:
    """Start the stack, measure each depth, print."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.queuedepth", description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="20,100,400,1000")
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args(argv)
    import boto3

    from pipeline.devstack.stack import start_stack

    stack = start_stack()
    try:
        sqs = boto3.client("sqs", endpoint_url=stack.endpoint)
        for depth in (int(d) for d in args.depths.split(",") if d):
            ms = ms_a_message(sqs, stack.moto.pid, depth, args.messages)
            print(f"depth {depth:>5}: moto {ms:6.1f} CPU ms a message (receive, delete, send back)")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
