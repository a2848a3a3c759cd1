"""The requests one stream object makes of S3, SQS and OpenSearch, by API call, and the local
stack's CPU for each kind (issue #17).

    python -m benchmarks.stackcalls [--objects 200] [--size line] [--variants now,receive-any-room]

``--objects`` objects (``benchmarks.smalldocs``) are put in a fresh bucket (moto's events fill
the queue) before the stream service starts, as ``benchmarks.streamrun`` does; the service then
runs until the queue is quiet, every one of its requests going through a counting proxy, one in
front of moto (S3 and SQS: ``AWS_ENDPOINT_URL``, forwarded to the OCR workers) and one in front
of osmem-server (``opensearch_url``). Each request is named by its API call (the SQS JSON
protocol's ``X-Amz-Target``, S3's method and path, OpenSearch's path) and counted with what it
carried (messages received, entries deleted, documents in a bulk).

The local stack's CPU per kind: a thread reads each server's CPU (``/proc``) every 10 ms and
charges each interval's increase evenly to the requests in flight to that server then (CPU
while none is: ``(between requests)``). Requests overlap (receiver, heartbeat, workers' fetches
and lookups), so the split is an estimate; each server's total is exact.

Each of ``--variants`` is a run of its own (a fresh queue, bucket and index on the same stack, in
the order given): ``now``, the pipeline as it is, and the earlier behaviours of what was changed
to cut requests (``VARIANTS``: module constants set back for that run alone), so before and after
are measured in one run.

The proxy adds a hop (and a new upstream connection a request), so the objects/s printed here
are not the pipeline's; ``benchmarks.small`` measures those. Counts depend on timing (how many
messages a receive finds, how many documents a bulk gathers). Printed and written to
``out/bench/stackcalls.json``; never asserted. The proxy is the fault tests' (``tests/fault/proxy.py``),
so this runs from a checkout's root, not from an installed package.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"

OUT = Path("out/bench/stackcalls.json")


def no_look_ahead(readings: Any) -> None:
    """Stands in for the class ``LookAhead``: the service as it was before it had one
    (``service.lookahead is None``: each object's worker searches for an earlier reading)."""
    return None


# each variant: the module constants it sets for its run ("now": none)
VARIANTS: dict[str, dict[tuple[str, str], Any]] = {
    "now": {},
    # before the receiver waited for room for a batch: any free room was received at once
    "receive-any-room": {("pipeline.stream.intake", "RECEIVE_TOGETHER"): 1},
    # before the hold counted a worker's tasks at once (per_worker 2: half of HOLD_S's 1 s)
    "half-hold": {("pipeline.stream.intake", "HOLD_S"): 0.5},
    # before one search looked for a receive's earlier readings: each object's worker searched
    "lookup-per-object": {("pipeline.stream.service", "LookAhead"): no_look_ahead},
    # all three: the stream as it was at 91b7a5e
    "before": {("pipeline.stream.intake", "RECEIVE_TOGETHER"): 1, ("pipeline.stream.intake", "HOLD_S"): 0.5,
               ("pipeline.stream.service", "LookAhead"): no_look_ahead},
}
IDLE = "(between requests)"
SAMPLE_S = 0.01


def s3_call(method: str, path: str) -> str:
    """S3's API call from a path-style request."""
    bare, _, query = path.partition("?")
    has_key = "/" in bare.strip("/")
    if method == "GET":
        return "S3 GetObject" if has_key else ("S3 ListObjectsV2" if "list-type" in query else "S3 GET bucket")
    if method == "HEAD":
        return "S3 HeadObject" if has_key else "S3 HeadBucket"
    return f"S3 {method} {'object' if has_key else 'bucket'}"


def opensearch_call(method: str, path: str) -> str:
    """OpenSearch's API from the request path (``/index/_search`` -> ``search``)."""
    parts = [p for p in path.partition("?")[0].split("/") if p]
    api = next((p for p in parts if p.startswith("_")), "")
    if api:
        return f"OpenSearch {api.lstrip('_')}" + (f" {method}" if api == "_mapping" else "")
    return "OpenSearch index exists" if method == "HEAD" else f"OpenSearch {method} index"


def decoded(body: bytes, encoding: str = "") -> bytes:
    """A body as sent (gzip undone)."""
    return gzip.decompress(body) if encoding == "gzip" and body else body


def items_of(call: str, request_body: bytes, response_body: bytes) -> int:
    """What one request carried: messages received, entries of a batch, documents of a bulk."""
    try:
        if call == "SQS ReceiveMessage":
            return len(json.loads(response_body or b"{}").get("Messages", []))
        if call.startswith("SQS ") and call.endswith("Batch"):
            return len(json.loads(request_body or b"{}").get("Entries", []))
        if call == "OpenSearch bulk":
            return sum(1 for line in request_body.splitlines() if line.strip()) // 2
        if call == "OpenSearch msearch":
            return sum(1 for line in request_body.splitlines() if line.strip()) // 2
        if call == "OpenSearch mget":
            return len(json.loads(request_body or b"{}").get("ids", []))
    except ValueError:
        return 0
    return 1


@dataclass
class Tally:
    """Requests of one kind: how many, what they carried, the server's CPU charged to them."""

    requests: int = 0
    items: int = 0
    cpu_s: float = 0.0
    sizes: Counter = field(default_factory=Counter)  # requests by the items each carried


@dataclass
class Calls:
    """Every kind's tally for one server, and the requests in flight to it now."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    in_flight: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> dict[str, Tally]:
        """A copy of the tallies now."""
        with self.lock:
            return {k: Tally(t.requests, t.items, t.cpu_s, Counter(t.sizes)) for k, t in self.tallies.items()}

    def charge(self, cpu_s: float) -> None:
        """One interval's CPU of the server, split evenly over the requests in flight."""
        with self.lock:
            flying = +self.in_flight
            total = sum(flying.values())
            if not total:
                self.tallies.setdefault(IDLE, Tally()).cpu_s += cpu_s
            for call, n in flying.items():
                self.tallies.setdefault(call, Tally()).cpu_s += cpu_s * n / total


def counting_proxy(upstream: str, name_of, pid: int):
    """A proxy to ``upstream`` (the fault tests' :class:`tests.fault.proxy.FaultProxy`, no rules)
    that names each request with ``name_of(request)`` and counts it in its ``calls``; ``pid``: the
    server's process, whose CPU is charged to the requests."""
    from tests.fault.proxy import FaultProxy

    class CountingProxy(FaultProxy):
        def __init__(self) -> None:
            super().__init__(upstream)
            self.calls = Calls()
            self.pid = pid
            self._stop = threading.Event()
            self._sampler = threading.Thread(target=self._sample, name="stack-cpu", daemon=True)

        def __enter__(self) -> CountingProxy:
            super().__enter__()
            self._sampler.start()
            return self

        def __exit__(self, *exc: object) -> None:
            self._stop.set()
            self._sampler.join(timeout=5)
            super().__exit__(*exc)

        def decide(self, request: Any) -> object:
            return None  # forward everything, keep nothing of it

        def forward(self, request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
            call = name_of(request)
            with self.calls.lock:
                self.calls.in_flight[call] += 1
            try:
                status, headers, body = super().forward(request)
            finally:
                with self.calls.lock:
                    self.calls.in_flight[call] -= 1
            sent = decoded(request.body, request.headers.get("content-encoding", ""))
            encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "")
            carried = items_of(call, sent, decoded(body, encoding))
            with self.calls.lock:
                tally = self.calls.tallies.setdefault(call, Tally())
                tally.requests += 1
                tally.items += carried
                tally.sizes[carried] += 1
            return status, headers, body

        def _sample(self) -> None:
            from benchmarks.cpuaccount import cpu_seconds

            last = cpu_seconds(self.pid) or 0.0
            while not self._stop.wait(SAMPLE_S):
                now = cpu_seconds(self.pid)
                if now is None:
                    return
                if now > last:
                    self.calls.charge(now - last)
                last = now

    return CountingProxy()


def moto_call(request: Any) -> str:
    """SQS (JSON protocol: ``X-Amz-Target``; query protocol: ``Action=``) or S3."""
    if request.target.startswith("AmazonSQS."):
        return "SQS " + request.target.removeprefix("AmazonSQS.")
    if b"Action=" in request.body[:200]:
        return "SQS " + request.body.split(b"Action=", 1)[1].split(b"&", 1)[0].decode()
    return s3_call(request.method, request.path)


def opensearch_request_call(request: Any) -> str:
    """OpenSearch's API of a request (a search with an aggregation: the stream's look-ahead)."""
    call = opensearch_call(request.method, request.path)
    if call == "OpenSearch search" and b'"aggs"' in decoded(request.body, request.headers.get("content-encoding", "")):
        return "OpenSearch search (aggregation)"
    return call


@contextmanager
def variant(name: str) -> Iterator[None]:
    """The constants of ``VARIANTS[name]`` set for the ``with`` block, put back after it."""
    import importlib

    saved = []
    for (module_name, attr), value in VARIANTS[name].items():
        module = importlib.import_module(module_name)
        saved.append((module, attr, getattr(module, attr)))
        setattr(module, attr, value)
    try:
        yield
    finally:
        for module, attr, value in saved:
            setattr(module, attr, value)


def measure(stack: Any, docs: list, workers: int, settings_update: dict[str, Any] | None = None) -> dict[str, Any]:
    """One stream run over ``docs`` through the counting proxies: the tallies of its start-up
    (``build_stream``) and of its run, and its wall time."""
    import ray

    from benchmarks.streamrun import bench_settings, upload, wait_for_queue
    from pipeline.fleet.raycluster import connect
    from pipeline.stream.build import build_stream

    settings, bucket = bench_settings(stack, "calls")
    settings = settings.model_copy(update=settings_update or {})
    upload(docs, bucket)
    wait_for_queue(settings.queue_url, len(docs))
    moto = counting_proxy(stack.endpoint, moto_call, stack.moto.pid)
    osmem = counting_proxy(stack.opensearch_url, opensearch_request_call, stack.osmem.pid)
    saved = os.environ.get("AWS_ENDPOINT_URL")
    with moto, osmem:
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        try:
            connect(num_cpus=workers)
            service = build_stream(settings.model_copy(update={"opensearch_url": osmem.url}),
                                   exit_when_idle_s=2.0, num_cpus=workers, keep_records=True)
            start = {**moto.calls.snapshot(), **osmem.calls.snapshot()}
            service.run()
        finally:
            os.environ["AWS_ENDPOINT_URL"] = saved or stack.endpoint
            ray.shutdown()
        end = {**moto.calls.snapshot(), **osmem.calls.snapshot()}
    records = list(service.records)
    wall = max(r["indexed_at"] for r in records) - min(r["received_at"] for r in records) if records else 0.0
    run = {k: _minus(t, start.get(k)) for k, t in end.items()}
    return {"objects": len(docs), "indexed": len(records), "counts": dict(service.counts), "wall_s": round(wall, 2),
            "task_s_end": round(service.pool.task_s, 3), "hold_per_worker_end": service.hold_per_worker(),
            "startup": _rows(start, 1), "run": _rows(run, len(docs))}


def _minus(t: Tally, before: Tally | None) -> Tally:
    if before is None:
        return t
    return Tally(t.requests - before.requests, t.items - before.items, t.cpu_s - before.cpu_s,
                 t.sizes - before.sizes)


def _rows(tallies: dict[str, Tally], objects: int) -> dict[str, dict[str, float]]:
    rows = {}
    for call, t in sorted(tallies.items()):
        if not t.requests and t.cpu_s < 1e-6:
            continue
        rows[call] = {"requests": t.requests, "per_object": round(t.requests / objects, 3),
                      "items_per_request": round(t.items / t.requests, 2) if t.requests else 0.0,
                      "cpu_ms_per_request": round(1000 * t.cpu_s / t.requests, 2) if t.requests else 0.0,
                      "cpu_ms_per_object": round(1000 * t.cpu_s / objects, 2),
                      "requests_by_items": dict(sorted(t.sizes.items()))}
    return rows


def table(result: dict[str, Any]) -> str:
    """Requests per object by kind, with the stack's CPU for them."""
    head = f"{'request':<40} {'requests':>8} {'/object':>8} {'items/req':>9} {'ms/req':>7} {'ms/object':>9}"
    lines = [head, "-" * len(head)]
    total_requests, total_ms = 0, 0.0
    for call, r in result["run"].items():
        lines.append(f"{call:<40} {r['requests']:>8} {r['per_object']:>8.3f} {r['items_per_request']:>9.2f} "
                     f"{r['cpu_ms_per_request']:>7.2f} {r['cpu_ms_per_object']:>9.2f}")
        total_requests += int(r["requests"])
        total_ms += r["cpu_ms_per_object"]
    objects = result["objects"]
    lines.append(f"{'all':<40} {total_requests:>8} {total_requests / objects:>8.3f} {'':>9} {'':>7} {total_ms:>9.2f}")
    startup = ", ".join(f"{k} {int(r['requests'])}" for k, r in result["startup"].items() if r["requests"])
    lines.append(f"start-up (build_stream, not per object): {startup}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start the stack, run the stream through the proxies, print the table, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stackcalls", description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--size", default="line", help="a size of benchmarks.smalldocs")
    parser.add_argument("--workers", type=int, default=0, help="OCR workers (0: one per CPU)")
    parser.add_argument("--variants", default="now", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    names = [v for v in args.variants.split(",") if v]
    if unknown := [v for v in names if v not in VARIANTS]:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")

    from benchmarks.report import machine_info
    from benchmarks.smalldocs import small_docs
    from pipeline.devstack.stack import start_stack
    from pipeline.logjson import setup_logging

    setup_logging("WARNING")
    machine = machine_info()
    docs = small_docs(args.objects, args.size)
    stack = start_stack()
    results = {}
    try:
        for name in names:
            with variant(name):
                results[name] = measure(stack, docs, args.workers or len(os.sched_getaffinity(0)))
            results[name]["loadavg"] = [round(x, 2) for x in os.getloadavg()]
            results[name]["utc_end"] = time.strftime("%H:%M:%S", time.gmtime())
    finally:
        stack.stop()
    summary = {"command": "python -m benchmarks.stackcalls " + " ".join(argv if argv is not None else sys.argv[1:]),
               "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": machine | {"loadavg_end": [round(x, 2) for x in os.getloadavg()]}, "variants": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    for name, result in results.items():
        print(f"\n{name}: {result['indexed']} of {args.objects} {args.size} objects indexed in {result['wall_s']} s "
              f"(through the proxies); {result['counts']}; ended {result['utc_end']} UTC, load {result['loadavg']}")
        print(table(result))
    print(f"load average {machine['loadavg_start']} -> {summary['machine']['loadavg_end']}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
