"""The figures, drawn from the summary and the per-page records; used by the harness (PNG files)
and by notebooks/throughput.ipynb (same functions, so the two never disagree)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STAGE_COLOURS = {"fetch_s": "#8da0cb", "decode_s": "#66c2a5", "ocr_s": "#fc8d62", "clean_s": "#e78ac3",
                 "wait_index_s": "#a6d854"}


def throughput(ax: Any, summary: dict[str, Any]) -> None:
    """pages/s against cores: the limit line, the stream (and batch) points, the baseline."""
    runs = sorted(summary["runs"], key=lambda r: r["cores"])
    cores = [r["cores"] for r in runs]
    ax.plot(cores, [r["limit"]["pages_s"] for r in runs], "k--", marker="o", label="limit (bare warm engine)")
    ax.plot(cores, [r["stream"]["pages_s"] for r in runs], marker="s", label="stream service")
    batch = [(r["cores"], r["batch"]["pages_s"]) for r in runs if "pages_s" in r["batch"]]
    if batch:
        ax.plot(*zip(*batch, strict=True), marker="^", label="batch backfill")
    if "pages_s" in summary["baseline"]:
        ax.axhline(summary["baseline"]["pages_s"], color="grey", lw=1, label="seed baseline (1 process, CLI)")
    ax.set_xlabel("cores (OCR processes)")
    ax.set_ylabel("pages / s")
    ax.set_xticks(cores)
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title("Throughput against the engine's limit")


def latency(ax: Any, pages: Any) -> None:
    """Distribution of message-to-indexed latency per document, with p50/p95/p99, by mode."""
    import numpy as np

    for mode in ("stream", "paced"):
        docs = pages[(pages["mode"] == mode) & pages["latency_s"].notna()].drop_duplicates(["cores", "key"])
        if docs.empty:
            continue
        values = np.sort(docs["latency_s"].to_numpy())
        ax.plot(values, np.arange(1, len(values) + 1) / len(values), label=f"{mode} (all core counts)")
        for q, style in ((50, ":"), (95, "--"), (99, "-.")):
            ax.axvline(np.percentile(values, q), ls=style, lw=0.8, color="grey")
    ax.set_xlabel("latency, message sent -> indexed (s)   [grey: p50 : p95 -- p99 -.]")
    ax.set_ylabel("share of documents")
    ax.legend()
    ax.set_title("Latency (pre-filled queue includes queueing; paced does not)")


def breakdown(ax: Any, summary: dict[str, Any]) -> None:
    """Stacked seconds per page in each stage, one bar per core count."""
    runs = sorted(summary["runs"], key=lambda r: r["cores"])
    labels = [str(r["cores"]) for r in runs]
    bottom = [0.0] * len(runs)
    for stage, colour in STAGE_COLOURS.items():
        values = [r["breakdown_s_per_page"].get(stage, 0.0) for r in runs]
        ax.bar(labels, values, bottom=bottom, color=colour, label=stage[:-2].replace("_", "+"))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xlabel("cores")
    ax.set_ylabel("seconds per page (worker time, not wall)")
    ax.legend()
    ax.set_title("Where the time goes per page (stream)")


def quality(ax: Any, pages: Any) -> None:
    """Mean character error rate by document kind (stream), with findability in the labels."""
    stream = pages[(pages["mode"] == "stream") & pages["cer"].notna()]
    if stream.empty:
        return
    grouped = stream.groupby("kind")
    cer = grouped["cer"].mean() * 100
    found = stream.drop_duplicates(["cores", "key"]).groupby("kind")["found"].mean() * 100
    ax.bar([f"{k}\nfound {found.get(k, 0):.0f}%" for k in cer.index], cer.to_numpy(), color="#8da0cb")
    ax.axhline(3.0, color="red", lw=1, ls="--", label="target 3% (clean pages)")
    ax.set_ylabel("character error rate (%)")
    ax.tick_params(axis="x", labelsize=7)
    ax.legend()
    ax.set_title("Quality by document kind")


def save_all(out: Path, summary: dict[str, Any], pages: Any) -> list[Path]:
    """throughput.png, latency.png, breakdown.png and quality.png in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, draw, data in (("throughput", throughput, summary), ("latency", latency, pages),
                             ("breakdown", breakdown, summary), ("quality", quality, pages)):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax, data)
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
