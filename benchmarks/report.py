"""Turning measurements into the summary (JSON), the per-page records (Parquet) and the table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.baseline import BaselineResult
from benchmarks.corpus import BenchDoc
from benchmarks.limit import LimitResult
from benchmarks.streamrun import StreamResult

STAGES = ("fetch_s", "decode_s", "ocr_s", "clean_s", "wait_index_s")
BATCH_ABSENT = "not measured (benchmarks/backfill.py absent)"


def write_summary(summary: dict[str, Any], out: Path) -> None:
    """Write a benchmark's summary as JSON (the directory made if needed)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False))


def percentiles(values: list[float], qs: tuple[int, ...] = (50, 95, 99)) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` (linear interpolation); None for no values."""
    import numpy as np

    if not values:
        return {f"p{q}": None for q in qs}
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in qs}


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b rounded, None when either is missing or b is zero."""
    return round(a / b, 3) if a and b else None


def machine_info() -> dict[str, Any]:
    """What the run ran on: cores, CPU model, memory, load, Tesseract."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    try:
        tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        tess = ""
    return {
        "nproc": os.cpu_count(), "cpu_model": model, "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
        "platform": platform.platform(), "tesseract": tess,
    }


def limit_summary(before: LimitResult, after: LimitResult | None = None) -> dict[str, Any]:
    """pages/s of the bare engine (the mean of the runs before and after the pipeline's, which
    brackets a shared machine's load), its s/page and its processes' peak RSS."""
    runs = [before] + ([after] if after else [])
    engine = [s for r in runs for s in r.page_seconds.values()]
    wall = sum(r.wall_s for r in runs) / len(runs)
    rate = before.pages / wall if wall else 0.0
    return {
        "processes": before.processes, "pages": before.pages, "wall_s": round(wall, 3), "pages_s": round(rate, 4),
        "pages_s_before_after": [round(r.pages_s, 4) for r in runs],
        "s_per_page": round(1 / rate, 4) if rate else None,
        "engine_s_per_page_mean": round(sum(engine) / len(engine), 4) if engine else None,
        "peak_rss_mb_per_process": [v for r in runs for v in r.peak_rss_mb],
    } | with_decode(rate, before.processes, [d for r in runs for d in r.decode_s_per_page])


def decode_line(limit: dict[str, Any], stream_pages_s: float) -> str:
    """The decoding limit and the stream against it, as one printed line."""
    return (f"limit with decode in its loop {limit['pages_s_with_decode']:.3f} pages/s "
            f"(decode {limit['decode_s_per_page']:.3f} s/page); stream / that "
            f"{stream_pages_s / limit['pages_s_with_decode']:.3f}")


def with_decode(rate: float, processes: int, decode_s: list[float]) -> dict[str, Any]:
    """The limit as if each process also decoded/rasterised its pages in its loop (as the pipeline
    must): a second reading of the same run, beside the limit, never instead of it."""
    if not decode_s or not rate:
        return {}
    per_page = sum(decode_s) / len(decode_s)
    return {"decode_s_per_page": round(per_page, 4),
            "pages_s_with_decode": round(1 / (1 / rate + per_page / processes), 4)}


def baseline_summary(base: BaselineResult | None) -> dict[str, Any]:
    """pages/s of the command-line baseline, and on how many pages it was measured."""
    if base is None:
        return {"status": "not measured (--baseline-pages 0)"}
    return {
        "processes": 1, "pages": base.pages, "wall_s": round(base.wall_s, 3), "pages_s": round(base.pages_s, 4),
        "s_per_page": round(1 / base.pages_s, 3) if base.pages_s else None,
        "note": f"tesseract CLI per page, default OpenMP threading, on {base.pages} page(s) only (it is slow)",
    }


def stream_summary(run: StreamResult) -> dict[str, Any]:
    """pages/s from first receive to last index, latency percentiles, peak RSS per worker.

    ``latency_s`` runs from the upload (moto's S3 event reaches SQS at once) to indexed;
    ``service_latency_s`` is the records' own ``latency_s`` (receive -> indexed as the service
    measures it today, see docs/benchmarks.md).
    """
    latencies = [run.latency(r) for r in run.records]
    rss = sorted(round(v, 1) for v in run.peak_rss_mb.values())
    return {
        "documents": len(run.records), "pages": run.pages, "wall_s": round(run.wall_s, 3),
        "pages_s": round(run.pages_s, 4), "latency_s": percentiles(latencies),
        "service_latency_s": percentiles([float(r["latency_s"]) for r in run.records]), "counts": run.counts,
        "peak_rss_mb_per_worker": rss, "peak_rss_mb_max": max(rss) if rss else None,
    }


def breakdown(run: StreamResult) -> dict[str, float]:
    """Seconds per page in each stage, from the service's timing records.

    ``wait_index_s`` is what is left of receive -> indexed after fetching and processing: waiting for
    a worker slot, Ray's hand-offs and the bulk write (per document, never below zero).
    """
    pages = max(1, run.pages)
    totals = dict.fromkeys(STAGES, 0.0)
    for r in run.records:
        for stage in STAGES[:-1]:
            totals[stage] += float(r.get(stage, 0.0))
        totals["wait_index_s"] += wait_index(r)
    return {k: round(v / pages, 4) for k, v in totals.items()}


def wait_index(record: dict[str, Any]) -> float:
    """Receive -> indexed, less fetch and processing, for one document record."""
    span = float(record["indexed_at"]) - float(record["received_at"])
    return max(0.0, span - float(record.get("fetch_s", 0.0)) - float(record.get("process_s", 0.0)))


def page_rows(mode: str, cores: int, docs: list[BenchDoc], cer: dict, *, seconds: dict | None = None,
              run: StreamResult | None = None, found: dict[str, bool] | None = None) -> list[dict[str, Any]]:
    """Per-page records of one mode (stream timings are the document's, shared over its pages)."""
    by_key = {r["key"]: r for r in run.records} if run else {}
    rows = []
    for doc in docs:
        for n in range(1, doc.page_count + 1):
            ref = (doc.key, n)
            if seconds is not None and ref not in seconds:
                continue
            row: dict[str, Any] = {"mode": mode, "cores": cores, "key": doc.key, "kind": doc.kind,
                                   "clean": doc.clean, "page": n, "cer": cer.get(ref),
                                   "found": found.get(doc.key) if found else None}
            row.update(dict.fromkeys(STAGES, None) | {"latency_s": None, "service_latency_s": None})
            if seconds is not None:
                row["ocr_s"] = seconds[ref]
            if doc.key in by_key:
                rec = by_key[doc.key]
                share = 1 / max(1, int(rec["pages"]))
                row.update({s: float(rec.get(s, 0.0)) * share for s in STAGES[:-1]})
                row["wait_index_s"] = wait_index(rec) * share
                row["latency_s"] = run.latency(rec)
                row["service_latency_s"] = float(rec["latency_s"])
            rows.append(row)
    return rows


def write_outputs(out: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """summary.json and pages.parquet in ``out``."""
    from pipeline.sinks.parquet import write_rows

    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_rows(rows, out / "pages.parquet")


def table(summary: dict[str, Any]) -> str:
    """The printed table: one line per mode and core count, then the breakdown and quality."""
    head = f"{'cores':>5}  {'mode':<9} {'pages':>5} {'wall s':>8} {'pages/s':>8} {'s/page':>7} " \
           f"{'/limit':>7} {'/base':>7} {'p50 s':>7} {'p95 s':>7} {'RSS MB':>7}"
    lines = [head, "-" * len(head)]
    base = summary["baseline"]
    for run in summary["runs"]:
        c = run["cores"]
        lines.append(_line(c, "limit", run["limit"], None, None))
        lines.append(_line(c, "stream", run["stream"], run["ratios"].get("stream_vs_limit"),
                           run["ratios"].get("stream_vs_baseline")))
        if run.get("paced"):
            lines.append(_line(c, "paced", run["paced"], None, None))
        batch = run["batch"]
        if "pages_s" in batch:
            lines.append(_line(c, "batch", batch, run["ratios"].get("batch_vs_limit"),
                               run["ratios"].get("batch_vs_baseline")))
        else:
            lines.append(f"{c:>5}  {'batch':<9} {batch.get('status', BATCH_ABSENT)}")
    if "pages_s" in base:
        lines.append(_line(1, "baseline", base, None, None))
    else:
        lines.append(f"{1:>5}  {'baseline':<9} {base['status']}")
    lines.append("")
    for run in summary["runs"]:
        b = run["breakdown_s_per_page"]
        lines.append(f"cores {run['cores']}: s/page  " + "  ".join(f"{k[:-2]} {v:.3f}" for k, v in b.items()))
        if run["ratios"].get("stream_vs_limit_with_decode") is not None:
            lines.append(f"cores {run['cores']}: " + decode_line(run["limit"], run["stream"]["pages_s"]))
        q = run["quality"]
        lines.append(_quality_line(f"cores {run['cores']} stream", q))
        if "quality" in run["batch"]:
            lines.append(_quality_line(f"cores {run['cores']} batch", run["batch"]["quality"]))
    return "\n".join(lines)


def _quality_line(label: str, q: dict[str, Any]) -> str:
    line = (f"{label}: CER clean {_pct(q['cer_clean'])}, degraded {_pct(q['cer_degraded'])};"
            f" findability {_pct(q['findability'])} ({q['documents_found']}/{q['documents']} in top 10)")
    kinds = q.get("by_kind") or {}
    return line + "".join(f"\n  {kind}: CER {_pct(k['cer'])}, found {k['found']}/{k['documents']}"
                          for kind, k in kinds.items())


def _line(cores: int, mode: str, m: dict[str, Any], vs_limit: float | None, vs_base: float | None) -> str:
    lat = m.get("latency_s") or {}
    rss = m.get("peak_rss_mb_max") or max(m.get("peak_rss_mb_per_process") or [0]) or None
    return (f"{cores:>5}  {mode:<9} {m['pages']:>5} {m['wall_s']:>8.2f} {m['pages_s']:>8.3f} "
            f"{_num(m.get('s_per_page') or (1 / m['pages_s'] if m['pages_s'] else None)):>7} "
            f"{_num(vs_limit):>7} {_num(vs_base):>7} {_num(lat.get('p50')):>7} {_num(lat.get('p95')):>7} "
            f"{_num(rss, 0):>7}")


def _num(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"
