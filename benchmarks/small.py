"""Small objects: what each object costs beside the engine, for the backfill and the stream.

    python -m benchmarks.small [--objects 1000] [--sizes line,quarter] [--isolated] [--ocr-cores 1]
                               [--runs backfill,stream] [--no-shared] [--variants before,now]
                               [--feed-depths 0,40]

For each size (``benchmarks.smalldocs``: a 600x120 one-line scan up to a quarter A4 page at
300 DPI; ``--objects`` one-line objects, fewer of the larger ones, as ``SIZES`` says), in one run
on one local stack:

- **engine**: the bare warm engine, one process per OCR core, on the same images
  (``benchmarks.limit``: decoded before its clock starts);
- **backfill**: ``run_backfill`` by its own clock (listing and Ray Data start-up included);
- **stream**: the stream service on a pre-filled queue, first receive to last index
  (``--runs stream`` leaves the backfill out, ``--runs backfill`` the stream);

shared (every process on every core), and with ``--isolated`` also isolated as
``benchmarks.isolated`` does it (the stack, this driver and Ray's daemons on the cores after the
first ``--ocr-cores``; ``--no-shared``: the isolated runs alone). With ``--variants`` the stream is
run once per variant of ``benchmarks.stackcalls.VARIANTS`` (the stream as it was before the
request cuts, as it is now), one after the other beside the same bare engine; with
``--feed-depths`` once per depth too (0: the queue pre-filled; N: fed at most N messages ahead
of what the service indexed, ``streamrun.ShallowFeed``: moto's SQS charges the local stack CPU in
proportion to the queue's depth, which AWS's does not charge to the node). Each pipeline run has a CPU
account by process group (``benchmarks.cpuaccount``), in ms per object, and the CER of what was
indexed. Results are printed and written to ``out/bench/small.json``; quoted, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"

OUT = Path("out/bench/small.json")
RUNS = ("backfill", "stream")


def mean(values: list[float]) -> float | None:
    """The mean, None for no values."""
    return sum(values) / len(values) if values else None


def engine_row(docs: list, processes: int, settings: Any) -> dict[str, Any]:
    """Objects/s, engine ms per object and CER of the bare engine (the caller sets the cores)."""
    from benchmarks.limit import measure_limit
    from benchmarks.quality import page_cer

    result = measure_limit(docs, processes, settings)
    cer = page_cer(docs, result.page_text)
    return {"objects": result.pages, "objects_s": round(result.pages_s, 2),
            "engine_ms": round(1000 * mean(list(result.page_seconds.values())), 2),
            "cer": round(mean(list(cer.values())), 4)}


def index_cer(settings: Any, docs: list) -> tuple[float | None, int]:
    """(mean CER of the indexed objects, how many were indexed)."""
    from benchmarks.quality import page_cer, read_back
    from pipeline.sinks.opensearch import make_client

    indexed = read_back(make_client(settings), settings.index)
    cer = page_cer(docs, {(k, n): t for k, d in indexed.items() for n, t in d.pages.items()})
    value = mean(list(cer.values()))
    return (round(value, 4) if value is not None else None), len(indexed)


def pipeline_row(objects: int, wall_s: float, settings: Any, docs: list, account: Any) -> dict[str, Any]:
    """One pipeline run's figures: objects/s, CER, and its CPU account per object."""
    cer, indexed = index_cer(settings, docs)
    return {"objects": objects, "indexed": indexed, "wall_s": round(wall_s, 2),
            "objects_s": round(objects / wall_s, 2) if wall_s else 0.0, "cer": cer,
            "cpu_ms_per_object": account.per_object_ms(objects), "account_wall_s": round(account.wall_s, 2),
            "cpu_s_by_title": account.top_titles()}


def backfill_row(stack: Any, docs: list, cores: set[int], isolated: tuple | None) -> dict[str, Any]:
    """The backfill of ``docs``, shared on ``cores`` CPUs or ``isolated`` (ocr, rest)."""
    from benchmarks.batchrun import measure_batch
    from benchmarks.cpuaccount import CpuAccount
    from benchmarks.isolated import pinned_backfill_run, since_first_actor

    account, clock = CpuAccount(), {}
    if isolated:
        summary, settings = pinned_backfill_run(stack, docs, *isolated, meter=account, clock=clock)
        row = pipeline_row(summary.processed, summary.elapsed_s, settings, docs, account)
        rate = since_first_actor(clock, summary.processed)
        row["objects_s_since_actor"] = round(rate, 2) if rate else None
        return row
    summary, settings = measure_batch(stack, docs, len(cores), meter=account)
    return pipeline_row(summary["documents"], summary["wall_s"], settings, docs, account)


def stream_row(stack: Any, docs: list, cores: set[int], isolated: tuple | None, feed_depth: int = 0) -> dict[str, Any]:
    """The stream service on a queue of ``docs`` (pre-filled, or fed ``feed_depth`` deep), shared
    on ``cores`` CPUs or ``isolated``."""
    import ray

    from benchmarks.cpuaccount import CpuAccount
    from benchmarks.isolated import pinned_service
    from benchmarks.streamrun import measure_stream, run_fed

    account = CpuAccount()
    try:
        if isolated:
            service, settings, bodies = pinned_service(stack, docs, *isolated, feed_depth=feed_depth)
            with account:
                run_fed(service, settings, bodies, feed_depth)
            records = service.records
        else:
            result = measure_stream(stack, docs, len(cores), meter=account, feed_depth=feed_depth)
            records, settings = result.records, result.settings
    finally:
        ray.shutdown()
    wall = max(r["indexed_at"] for r in records) - min(r["received_at"] for r in records) if records else 0.0
    return pipeline_row(len(records), wall, settings, docs, account)


def measure_size(stack: Any, name: str, docs: list, mode: str, ocr: set[int], rest: set[int],
                 runs: tuple[str, ...] = RUNS, variants: tuple[str, ...] = (),
                 feed_depths: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """The engine and each of ``runs`` (backfill, stream: once per ``variants``, if any, and per
    ``feed_depths``: 0 a pre-filled queue, N one fed N deep) on one size of objects, in one mode."""
    from benchmarks.isolated import on_cores
    from benchmarks.stackcalls import variant
    from pipeline.settings import Settings

    isolated = (ocr, rest) if mode == "isolated" else None
    cores = ocr if isolated else ocr | rest
    say(f"{mode} {name}: {len(docs)} objects, bare engine x {len(cores)} ...")
    if isolated:
        with on_cores(ocr, rest):
            engine = engine_row(docs, len(ocr), Settings())
    else:
        engine = engine_row(docs, len(cores), Settings())
    row = {"size": name, "mode": mode, "ocr_cores": len(cores), "engine": engine}
    say(f"{mode} {name}: engine {engine['objects_s']} objects/s")
    for run_name in ("backfill", "stream"):
        if run_name not in runs:
            continue
        for label, depth in _stream_runs(variants, feed_depths) if run_name == "stream" else (("", 0),):
            key = f"{run_name} {label}".strip() + (f" fed{depth}" if depth else "")
            key += f" #{sum(k.split(' #')[0] == key for k in row) + 1}" if key in row else ""
            with variant(label or "now"):
                row[key] = (stream_row(stack, docs, cores, isolated, depth) if run_name == "stream"
                            else backfill_row(stack, docs, cores, isolated))
            rate = engine["objects_s"]
            row[key]["vs_engine"] = round(row[key]["objects_s"] / rate, 3) if rate else None
            say(f"{mode} {name}: {key} {row[key]['objects_s']} objects/s")
    row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return row


def _stream_runs(variants: tuple[str, ...], feed_depths: tuple[int, ...]) -> list[tuple[str, int]]:
    """(variant, feed depth) of each stream run, in run order."""
    return [(label, depth) for label in variants or ("",) for depth in feed_depths]


def run(sizes: list[str], objects: int, isolated: bool, ocr_cores: int,
        runs: tuple[str, ...] = RUNS, shared: bool = True, variants: tuple[str, ...] = (),
        feed_depths: tuple[int, ...] = (0,)) -> list[dict[str, Any]]:
    """Every size shared (unless not ``shared``), then (``isolated``) every size isolated, on one
    local stack."""
    from benchmarks.isolated import descendants, pin
    from benchmarks.smalldocs import count_of, small_docs
    from pipeline.devstack.stack import start_stack

    cores = sorted(os.sched_getaffinity(0))
    ocr, rest = set(cores[:ocr_cores]), set(cores[ocr_cores:])
    docs = {name: small_docs(count_of(name, objects), name) for name in sizes}
    stack = start_stack()
    rows = []
    try:
        if shared:
            rows += [measure_size(stack, name, docs[name], "shared", ocr, rest, runs, variants, feed_depths)
                     for name in sizes]
        if isolated:
            os.sched_setaffinity(0, rest)
            for pid in descendants(os.getpid()):
                pin(pid, rest)
            rows += [measure_size(stack, name, docs[name], "isolated", ocr, rest, runs, variants, feed_depths)
                     for name in sizes]
    finally:
        stack.stop()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Objects/s and ratios per size and mode, then the CPU accounts in ms per object (a run left
    out with ``--runs`` shows as ``-``)."""
    from benchmarks.cpuaccount import GROUPS

    head = (f"{'size':<8} {'mode':<9} {'cores':>5} {'objects':>7} {'engine/s':>9} {'backfill/s':>10} {'ratio':>6} "
            f"{'stream/s':>9} {'ratio':>6}  CER engine/backfill/stream")
    lines = [head, "-" * len(head)]
    for r in rows:
        e, b, s = r["engine"], r.get("backfill", {}), r.get("stream", {})
        lines.append(f"{r['size']:<8} {r['mode']:<9} {r['ocr_cores']:>5} {e['objects']:>7} {e['objects_s']:>9.2f} "
                     f"{_num(b.get('objects_s'), 2):>10} {_num(b.get('vs_engine')):>6} "
                     f"{_num(s.get('objects_s'), 2):>9} {_num(s.get('vs_engine')):>6}  "
                     f"{_pct(e['cer'])} / {_pct(b.get('cer'))} / {_pct(s.get('cer'))}")
    since = [(r, r["backfill"]["objects_s_since_actor"]) for r in rows
             if r.get("backfill", {}).get("objects_s_since_actor")]
    if since:
        lines += ["", "backfill from its first OCR actor's start (listing, Ray and Ray Data's start-up left out):"]
        lines += [f"{r['size']:<8} {r['mode']:<9} {rate:>9.2f} objects/s  ratio {_num(rate / r['engine']['objects_s'])}"
                  for r, rate in since]
    variants = [(r, key) for r in rows for key in run_keys(r) if key not in RUNS]
    if variants:
        lines += ["", "variants (benchmarks.stackcalls.VARIANTS): objects/s, ratio to the engine, CER"]
        lines += [f"{r['size']:<8} {r['mode']:<9} {key:<24} {r[key]['objects_s']:>9.2f} {_num(r[key]['vs_engine']):>6}"
                  f"  {_pct(r[key]['cer'])}" for r, key in variants]
    names = [g.replace(" ", "_") for g in GROUPS]
    lines += ["", "CPU ms per object: " + "  ".join(names) + "  total  (engine alone)"]
    for r in rows:
        for run_name in run_keys(r):
            ms = r[run_name]["cpu_ms_per_object"]
            lines.append(f"{r['size']:<8} {r['mode']:<9} {run_name:<8} "
                         + " ".join(f"{ms[g]:>7.1f}" for g in GROUPS)
                         + f"  {ms['total']:>7.1f}  ({r['engine']['engine_ms']:.1f})")
    return "\n".join(lines)


def run_keys(row: dict[str, Any]) -> list[str]:
    """The pipeline runs of a row: ``backfill``, ``stream``, or ``stream <variant>``, in run order."""
    return [key for key in row if key.split(" ")[0] in RUNS]


def _num(v: float | None, places: int = 3) -> str:
    return "-" if v is None else f"{v:.{places}f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def say(text: str) -> None:
    """A progress line."""
    print(f"small: {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the JSON."""
    from benchmarks.smalldocs import SIZES

    parser = argparse.ArgumentParser(prog="python -m benchmarks.small", description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000, help="one-line objects (larger sizes: fewer)")
    parser.add_argument("--sizes", default="line,quarter", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--isolated", action="store_true", help="also the isolated runs (benchmarks.isolated)")
    parser.add_argument("--ocr-cores", type=int, default=1, help="isolated: cores for OCR; the rest for all else")
    parser.add_argument("--no-shared", action="store_true", help="with --isolated: the isolated runs only")
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated, of backfill, stream")
    parser.add_argument("--variants", default="", help="comma-separated, of benchmarks.stackcalls.VARIANTS: "
                        "the stream once per variant (default: as it is)")
    parser.add_argument("--feed-depths", default="0", help="comma-separated: the stream once per depth, 0 on a "
                        "pre-filled queue, N on one fed at most N messages ahead of what it indexed (moto's "
                        "SQS costs CPU in proportion to the queue's depth, AWS's none on the node)")
    parser.add_argument("--out", type=Path, default=OUT, help="the JSON written")
    args = parser.parse_args(argv)
    from benchmarks.stackcalls import VARIANTS

    variants = tuple(v for v in args.variants.split(",") if v)
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    sizes = [s for s in args.sizes.split(",") if s]
    if unknown := [s for s in sizes if s not in SIZES]:
        parser.error(f"unknown sizes {unknown}; known: {', '.join(SIZES)}")
    try:
        feed_depths = tuple(int(d) for d in args.feed_depths.split(",") if d) or (0,)
    except ValueError:
        parser.error(f"--feed-depths takes whole numbers, not {args.feed_depths!r}")
    runs = tuple(r for r in args.runs.split(",") if r)
    if unknown := [r for r in runs if r not in RUNS]:
        parser.error(f"unknown runs {unknown}; known: {', '.join(RUNS)}")
    if args.no_shared and not args.isolated:
        parser.error("--no-shared needs --isolated")
    if args.isolated and len(os.sched_getaffinity(0)) <= args.ocr_cores:
        parser.error(f"--isolated needs more than {args.ocr_cores} CPUs")
    from benchmarks.report import machine_info
    from pipeline.logjson import setup_logging

    setup_logging("WARNING")
    started, machine = time.perf_counter(), machine_info()
    rows = run(sizes, args.objects, args.isolated, args.ocr_cores, runs, shared=not args.no_shared, variants=variants,
               feed_depths=feed_depths)
    summary = {"command": "python -m benchmarks.small " + " ".join(argv if argv is not None else sys.argv[1:]),
               "machine": machine | {"loadavg_end": [round(x, 2) for x in os.getloadavg()]},
               "elapsed_s": round(time.perf_counter() - started, 1), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(table(rows))
    print(f"elapsed {summary['elapsed_s']} s; load average {machine['loadavg_start']} -> "
          f"{summary['machine']['loadavg_end']}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
