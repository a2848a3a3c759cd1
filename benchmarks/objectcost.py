"""What a stream worker spends on one small object beside the engine, step by step (issue #17).

    python -m benchmarks.objectcost [--objects 150] [--size line] [--pages 0]
                                    [--profile out/bench/objectcost.txt]

One process, no Ray: the local stack is started, ``--objects`` objects (``benchmarks.smalldocs``)
are put in a fresh bucket (with ``--pages N``, N pages of the harness's corpus,
``benchmarks.corpus``, instead: what a full page costs beside the engine), and an
:class:`~pipeline.stream.workers.OcrWorker` made in this process (its warm stage, its fetcher)
is handed each job as the stream's actor is. The CPU of this process
(``time.process_time``; moto and osmem-server are processes of their own) is charged to:

- **fetch**: ``Fetcher.fetch`` (the boto3 client's share of a ``get_object``), with the client as
  the pipeline makes it and with ``botocore`` ``Config`` variants (``CLIENT_VARIANTS``);
- **lookup**: ``OcrStage.reuse`` (the prior-reading search in the index);
- **stage**: opening, decoding, the ink test, page geometry, cleaning, assembling the record,
  with the engine's own calls (``Engine.recognise``, ``read_lines``, ``read_vertical``) apart;
- **start**: the whole of ``OcrWorker.start`` per job, as the actor runs it;
- **pickle**: the job and the returned document through ``pickle`` (what Ray serialises);
- **json**: the document's ``_source`` as the bulk writer encodes it.

With ``--profile`` a cProfile of ``OcrWorker.start`` over every object is written there (the
functions with most time of their own). Printed; never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pickle
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["OMP_THREAD_LIMIT"] = "1"

CLIENT_VARIANTS: dict[str, dict[str, Any]] = {
    "no parameter validation": {"parameter_validation": False},
    "checksums when required": {"request_checksum_calculation": "when_required",
                                "response_checksum_validation": "when_required"},
    "both": {"parameter_validation": False, "request_checksum_calculation": "when_required",
             "response_checksum_validation": "when_required"},
}


def cpu_ms_each(calls: list[Callable[[], Any]]) -> float:
    """Mean CPU ms of this process per call."""
    started = time.process_time()
    for call in calls:
        call()
    return 1000 * (time.process_time() - started) / max(1, len(calls))


def uploaded_jobs(stack: Any, docs: list) -> tuple[Any, list]:
    """(settings, jobs) for ``docs`` put in a fresh bucket, each job with its size and ETag."""
    import boto3

    from benchmarks.streamrun import bench_settings
    from pipeline.models import Job
    from pipeline.sinks.opensearch import ensure_index, make_client

    settings, bucket = bench_settings(stack, "cost")
    ensure_index(make_client(settings), settings.index)
    s3, jobs = boto3.client("s3"), []
    for doc in docs:
        etag = s3.put_object(Bucket=bucket, Key=doc.key, Body=doc.data)["ETag"].strip('"')
        jobs.append(Job(bucket, doc.key, etag=etag, size=len(doc.data)))
    return settings, jobs


def fetch_costs(settings: Any, jobs: list) -> dict[str, float]:
    """CPU ms per ``get_object`` with the pipeline's client and with each ``Config`` variant."""
    import boto3
    from botocore.config import Config

    from pipeline.awsclients import aws_client
    from pipeline.sources.fetch import Fetcher

    clients = {"as made (awsclients)": aws_client("s3", timeout_s=settings.s3_timeout_s)}
    for name, options in CLIENT_VARIANTS.items():
        config = Config(connect_timeout=10.0, read_timeout=settings.s3_timeout_s,
                        retries={"max_attempts": 3, "mode": "standard"}, **options)
        clients[name] = boto3.session.Session().client("s3", config=config)
    out = {}
    for name, client in clients.items():
        fetcher = Fetcher(settings, s3=client)
        fetcher.fetch(jobs[0])  # the client's first call loads its models
        out[name] = round(cpu_ms_each([lambda j=j, f=fetcher: f.fetch(j) for j in jobs]), 3)
    return out


def stage_costs(worker: Any, jobs: list) -> dict[str, float]:
    """CPU ms per object of each step of the worker's path, the engine's calls apart."""
    from benchmarks.geometry import EngineClock

    stage = worker.stage
    stage._engine = clock = EngineClock(stage.engine)  # as benchmarks.geometry times it
    fetched = [worker.fetcher.fetch(j) for j in jobs]
    pairs = list(zip(jobs, fetched, strict=True))
    lookup = cpu_ms_each([lambda j=j, f=f: stage.reuse(j, f) for j, f in pairs])
    docs: list = []
    clock.cpu_s = 0.0
    stage_ms = cpu_ms_each([lambda j=j, f=f: docs.append(_read(stage, j, f)) for j, f in pairs])
    engine_ms = 1000 * clock.cpu_s / len(jobs)
    clock.cpu_s = 0.0
    start_ms = cpu_ms_each([lambda j=j: worker.start(j) for j in jobs])
    start_engine_ms = 1000 * clock.cpu_s / len(jobs)
    pickled = cpu_ms_each([lambda j=j, d=d: pickle.loads(pickle.dumps((j, d), protocol=5))
                           for j, d in zip(jobs, docs, strict=True)])
    encoded = cpu_ms_each([lambda d=d: json.dumps(d.to_source(), ensure_ascii=False) for d in docs])
    return {"lookup": round(lookup, 3), "stage (engine apart)": round(stage_ms - engine_ms, 3),
            "engine calls": round(engine_ms, 3), "start": round(start_ms, 3),
            "start less engine": round(start_ms - start_engine_ms, 3), "pickle": round(pickled, 3),
            "json": round(encoded, 3)}


def _read(stage: Any, job: Any, fetched: Any) -> Any:
    started = time.perf_counter()
    with stage.open(fetched.data) as doc:
        return stage.process_opened(job, fetched, doc, started)


def profile_start(worker: Any, jobs: list, path: Path) -> None:
    """cProfile of ``OcrWorker.start`` over ``jobs`` by this process's CPU time (a wait on a socket
    costs nothing), the 40 functions with most own time and the 40 with most in all, to ``path``."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for job in jobs:
        worker.start(job)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(40)
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.getvalue())


def main(argv: list[str] | None = None) -> int:
    """Start the stack, put the objects, measure, print."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.objectcost", description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=150)
    parser.add_argument("--size", default="line", help="a size of benchmarks.smalldocs")
    parser.add_argument("--pages", type=int, default=0, help="this many harness pages instead of small objects")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of OcrWorker.start here")
    args = parser.parse_args(argv)

    from benchmarks.corpus import generate
    from benchmarks.smalldocs import small_docs
    from pipeline.devstack.stack import start_stack
    from pipeline.logjson import setup_logging
    from pipeline.stream.workers import OcrWorker

    setup_logging("WARNING")
    stack = start_stack()
    try:
        docs = generate(args.pages) if args.pages else small_docs(args.objects, args.size)
        settings, jobs = uploaded_jobs(stack, docs)
        fetch = fetch_costs(settings, jobs)
        worker = OcrWorker(settings)
        worker.start(jobs[0])  # warm: the engine's first page, the clients' first calls
        steps = stage_costs(worker, jobs)
        if args.profile:
            profile_start(worker, jobs, args.profile)
    finally:
        stack.stop()
    what = f"{args.pages} harness pages" if args.pages else f"{args.objects} {args.size} objects"
    print(f"objectcost: {what}, CPU ms per object of this process")
    for name, ms in {**{f"fetch, {k}": v for k, v in fetch.items()}, **steps}.items():
        print(f"  {name:<40} {ms:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
