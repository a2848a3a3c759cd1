"""One benchmark run: the same pages through the baseline, then for each core count the limit, the
stream service (pre-filled queue, then paced), and the batch backfill; then the outputs."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.corpus import BenchDoc, generate


@dataclass
class BenchConfig:
    """What to run (``benchmarks.cli`` maps the command line onto this)."""

    pages: int = 40
    cores: list[int] = field(default_factory=lambda: [min(2, os.cpu_count() or 1)])
    quick: bool = False
    degraded: bool = True
    baseline_pages: int = 3
    paced_docs: int = 8
    paced_fraction: float = 0.5
    out: Path = Path("out/bench")
    seed: int = 7
    command: str = ""
    scanned: bool = False


def run_benchmark(cfg: BenchConfig) -> dict[str, Any]:
    """Measure everything, write summary.json, pages.parquet and the PNGs, return the summary."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from pipeline.logjson import setup_logging
    from pipeline.settings import Settings

    setup_logging("WARNING")
    cfg.out.mkdir(parents=True, exist_ok=True)
    docs = generate(cfg.pages, quick=cfg.quick, degraded=cfg.degraded, seed=cfg.seed)
    if cfg.scanned:
        from benchmarks.scanned import bench_docs

        docs += bench_docs(cfg.seed, lines=8 if cfg.quick else 24)
    engine_settings = Settings()
    machine = report.machine_info()
    started, started_at = time.perf_counter(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    _say(f"{sum(d.page_count for d in docs)} pages in {len(docs)} documents; cores {cfg.cores}")
    baseline, rows = _baseline(docs, cfg, engine_settings)
    runs = _per_core_runs(docs, cfg, engine_settings, baseline, rows)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = {
        "command": cfg.command, "started_at": started_at,
        "machine": machine, "quick": cfg.quick, "pages": sum(d.page_count for d in docs), "documents": len(docs),
        "kinds": _kinds(docs), "baseline": report.baseline_summary(baseline), "runs": runs,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    for run in runs:
        run["ratios"] = _ratios(run, summary["baseline"])
    _write(cfg.out, summary, rows)
    return summary


def _baseline(docs: list[BenchDoc], cfg: BenchConfig, settings: Any) -> tuple[Any, list[dict]]:
    from benchmarks.baseline import measure_baseline
    from benchmarks.limit import decoded_pages
    from benchmarks.quality import page_cer

    if cfg.baseline_pages <= 0:
        return None, []
    clean = [d for d in docs if d.clean and d.page_count == 1][: cfg.baseline_pages]
    _say(f"baseline: tesseract CLI, default threading, {len(clean)} page(s) ...")
    base = measure_baseline(decoded_pages(clean, settings), settings)
    cer = page_cer(clean, base.page_text)
    return base, report.page_rows("baseline", 1, clean, cer, seconds=base.page_seconds)


def _per_core_runs(docs: list[BenchDoc], cfg: BenchConfig, settings: Any, baseline: Any,
                   rows: list[dict]) -> list[dict[str, Any]]:
    from pipeline.devstack.stack import start_stack

    stack = start_stack(log_dir=cfg.out)
    runs = []
    try:
        for cores in cfg.cores:
            runs.append(_one_core_count(stack, docs, cores, cfg, settings, rows))
    finally:
        _ray_shutdown()
        stack.stop()
    return runs


def _one_core_count(stack: Any, docs: list[BenchDoc], cores: int, cfg: BenchConfig, settings: Any,
                    rows: list[dict]) -> dict[str, Any]:
    from benchmarks.limit import measure_limit
    from benchmarks.quality import evaluate_index, page_cer, summarise_quality
    from benchmarks.streamrun import measure_paced, measure_stream
    from pipeline.sinks.opensearch import make_client

    _say(f"[{cores} cores] limit: bare warm engine x {cores} processes ...")
    limit = measure_limit(docs, cores, settings)
    rows += report.page_rows("limit", cores, docs, page_cer(docs, limit.page_text), seconds=limit.page_seconds)
    _say(f"[{cores} cores] limit {limit.pages_s:.3f} pages/s; stream service on a pre-filled queue ...")
    stream = measure_stream(stack, docs, cores)
    _ray_shutdown()
    _say(f"[{cores} cores] stream {stream.pages_s:.3f} pages/s; limit again (the machine may be shared) ...")
    again = measure_limit(docs, cores, settings)
    cer, found = evaluate_index(make_client(stream.settings), stream.index, docs)
    rows += report.page_rows("stream", cores, docs, cer, run=stream, found=found)
    run: dict[str, Any] = {"cores": cores, "limit": report.limit_summary(limit, again),
                           "stream": report.stream_summary(stream), "breakdown_s_per_page": report.breakdown(stream),
                           "quality": summarise_quality(docs, cer, found)}
    paced_docs = [d for d in docs if d.page_count == 1 and d.clean][: cfg.paced_docs]
    if paced_docs:
        rate = cfg.paced_fraction * run["limit"]["pages_s"]
        _say(f"[{cores} cores] paced: {len(paced_docs)} documents at {rate:.2f} pages/s ...")
        paced = measure_paced(stack, paced_docs, cores, rate)
        rows += report.page_rows("paced", cores, paced_docs, {}, run=paced)
        run["paced"] = report.stream_summary(paced) | {"arrival_pages_s": round(rate, 3)}
    run["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    run["batch"] = _batch(stack, docs, cores, cfg)
    _ray_shutdown()
    return run


def _batch(stack: Any, docs: list[BenchDoc], cores: int, cfg: BenchConfig) -> dict[str, Any]:
    """The batch backfill on the same pages (``benchmarks.batchrun``), with its own quality figures."""
    from benchmarks.quality import evaluate_index, summarise_quality
    from pipeline.sinks.opensearch import make_client

    try:
        from benchmarks.batchrun import measure_batch
    except ImportError as exc:  # the batch runtime is not in this tree
        return {"status": f"not measured ({exc})"}
    _ray_shutdown()
    _say(f"[{cores} cores] batch backfill on the same pages ...")
    summary, settings = measure_batch(stack, docs, cores)
    cer, found = evaluate_index(make_client(settings), settings.index, docs)
    summary["quality"] = summarise_quality(docs, cer, found)
    _say(f"[{cores} cores] batch {summary['pages_s']:.3f} pages/s")
    return summary


def _ratios(run: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float | None]:
    limit, base = run["limit"]["pages_s"], baseline.get("pages_s")
    out = {"stream_vs_limit": report.ratio(run["stream"]["pages_s"], limit),
           "stream_vs_baseline": report.ratio(run["stream"]["pages_s"], base),
           "stream_vs_limit_with_decode": report.ratio(run["stream"]["pages_s"],
                                                       run["limit"].get("pages_s_with_decode"))}
    if "pages_s" in run["batch"]:
        out |= {"batch_vs_limit": report.ratio(run["batch"]["pages_s"], limit),
                "batch_vs_baseline": report.ratio(run["batch"]["pages_s"], base)}
    return out


def _write(out: Path, summary: dict[str, Any], rows: list[dict]) -> None:
    import pandas as pd

    from benchmarks.plots import save_all

    report.write_outputs(out, summary, rows)
    save_all(out, summary, pd.DataFrame(rows))


def _kinds(docs: list[BenchDoc]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for d in docs:
        kinds[d.kind] = kinds.get(d.kind, 0) + d.page_count
    return kinds


def _ray_shutdown() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _say(text: str) -> None:
    print(f"bench: {text}", flush=True)
