"""Write notebooks/throughput.ipynb and notebooks/capacity.ipynb, executed on a real run.

The notebooks are generated so that their source stays reviewable here. After editing a cell, or
to show a newer run::

    .venv/bin/python -m benchmarks --cores 1,2 --out out/bench      # a real run (not --quick)
    rm -rf notebooks/data/run && mkdir -p notebooks/data/run
    cp out/bench/summary.json out/bench/pages.parquet notebooks/data/run/
    .venv/bin/python notebooks/build.py                            # writes and executes both

and commit the notebooks with ``notebooks/data/run/``: they open with that run's plots and tables
already drawn. CI executes them again on the small bundled sample (``notebooks/data/sample/``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''import json, os, sys
from pathlib import Path

ROOT = Path.cwd() if (Path.cwd() / "benchmarks").is_dir() else Path.cwd().parent
sys.path.insert(0, str(ROOT))
RUNS = [ROOT / "out/bench", ROOT / "notebooks/data/run", ROOT / "notebooks/data/sample"]
BENCH_DIR = Path(os.environ.get("OCR_BENCH_DIR") or next(d for d in RUNS if (d / "summary.json").exists()))
print("records from", BENCH_DIR.relative_to(ROOT) if BENCH_DIR.is_relative_to(ROOT) else BENCH_DIR)'''

THROUGHPUT = [
    new_markdown_cell("# Throughput\n\nReads what `python -m benchmarks` (or `ocr-cluster bench`) wrote: "
                      "`summary.json` and the per-page records `pages.parquet`: your own run in `out/bench/` if there "
                      "is one, else the run committed in `notebooks/data/run/` (what this notebook shows as "
                      "stored), else the tiny bundled sample `notebooks/data/sample/` (a `--quick` run, not a "
                      "measurement). Set `OCR_BENCH_DIR` to read another run."),
    new_code_cell(SETUP + '''
import matplotlib.pyplot as plt
import pandas as pd

from benchmarks import plots, report

summary = json.loads((BENCH_DIR / "summary.json").read_text())
pages = pd.read_parquet(BENCH_DIR / "pages.parquet")
print(summary["machine"]["cpu_model"], summary["machine"]["nproc"], "cores;", summary["command"])
print(report.table(summary))'''),
    new_markdown_cell("## Pages per second against cores, next to the limit line"),
    new_code_cell('''fig, ax = plt.subplots(figsize=(7, 4.5))
plots.throughput(ax, summary)
pd.DataFrame([{"cores": r["cores"], "limit": r["limit"]["pages_s"], "stream": r["stream"]["pages_s"],
               "stream/limit": r["ratios"]["stream_vs_limit"], "stream/baseline": r["ratios"]["stream_vs_baseline"]}
              for r in summary["runs"]])'''),
    new_markdown_cell("## Latency per document (p50 / p95 / p99)\n\nOn a pre-filled queue the latency counts "
                      "from the message's `SentTimestamp`, so it includes the wait in the queue; the paced run "
                      "feeds documents at half the limit and shows the latency of a quiet system."),
    new_code_cell('''fig, ax = plt.subplots(figsize=(7, 4.5))
plots.latency(ax, pages)
docs = pages[pages["latency_s"].notna()].drop_duplicates(["mode", "cores", "key"])
docs.groupby(["mode", "cores"])["latency_s"].quantile([0.5, 0.95, 0.99]).unstack().round(2)'''),
    new_markdown_cell("## Where the time goes per page"),
    new_code_cell('''fig, ax = plt.subplots(figsize=(7, 4.5))
plots.breakdown(ax, summary)
pd.DataFrame({r["cores"]: r["breakdown_s_per_page"] for r in summary["runs"]}).T'''),
    new_markdown_cell("## Quality by document kind"),
    new_code_cell('''fig, ax = plt.subplots(figsize=(7, 4.5))
plots.quality(ax, pages)
stream = pages[pages["mode"] == "stream"]
stream.groupby("kind").agg(pages=("page", "size"), cer=("cer", "mean"), found=("found", "mean")).round(4)'''),
]

CAPACITY = [
    new_markdown_cell("# Capacity\n\nFrom the measured seconds per page, an arrival rate and a latency target: the "
                      "Auto Scaling settings, a simulated day of traffic, and the cost per 1,000 pages beside a "
                      "managed OCR service at $1.50 per 1,000 pages. Change the inputs in the next cell."),
    new_code_cell(SETUP + '''
import math
import matplotlib.pyplot as plt
import pandas as pd

from benchmarks import capacity as cap

# --- inputs ---------------------------------------------------------------------------------------
S_PER_PAGE = 1.56          # engine seconds per page on one core (2 / 1.28 pages/s measured on 2 cores)
EFFICIENCY = 0.95          # pipeline / limit
if (BENCH_DIR / "summary.json").exists() and "sample" not in str(BENCH_DIR):
    best = max(json.loads((BENCH_DIR / "summary.json").read_text())["runs"], key=lambda r: r["cores"])
    S_PER_PAGE = best["cores"] / best["limit"]["pages_s"]
    EFFICIENCY = best["ratios"]["stream_vs_limit"] or EFFICIENCY
PEAK_PAGES_S = 20.0        # business-hours arrival rate
TROUGH_PAGES_S = 0.5       # night-time arrival rate
LATENCY_TARGET_S = 300     # a document searchable within 5 minutes of its upload
PAGES_PER_MESSAGE = 1.5
STEP_S = 10
# USD per hour, us-east-1 Linux; inputs, check today's prices (Spot moves)
INSTANCES = {
    "c7a.4xlarge (16 cores)": (16, 0.82, 0.33),
    "c7i.4xlarge (16 vCPU)":  (16, 0.71, 0.29),
    "c7g.4xlarge (16 cores)": (16, 0.58, 0.24),
    "c6a.2xlarge (8 cores)":  (8, 0.31, 0.13),
}
CHOSEN = "c7a.4xlarge (16 cores)"
print(f"{S_PER_PAGE:.2f} s/page/core, efficiency {EFFICIENCY:.2f} (from {BENCH_DIR if 'sample' not in str(BENCH_DIR) else 'the defaults'})")'''),
    new_markdown_cell("## Auto Scaling settings per instance type\n\nTarget tracking on `visible messages / "
                      "in-service instances`: the target is the backlog one instance clears within the latency "
                      "target less the 300 s an instance needs to warm up; min serves the night without scaling; max serves the day's highest arrival rate "
                      "(the burst) with 25 % headroom."),
    new_code_cell('''arrivals = cap.day_profile(PEAK_PAGES_S, TROUGH_PAGES_S, STEP_S)
fleets = {name: cap.Fleet(name, cores, S_PER_PAGE, EFFICIENCY, PAGES_PER_MESSAGE, od, spot)
          for name, (cores, od, spot) in INSTANCES.items()}
settings = {name: cap.recommend(f, LATENCY_TARGET_S, max(arrivals), TROUGH_PAGES_S) for name, f in fleets.items()}
pd.DataFrame([{"instance": n, "pages/s each": round(f.pages_s, 2),
               "target backlog/instance": settings[n].target_backlog, "min": settings[n].min_size, "max": settings[n].max_size} for n, f in fleets.items()])'''),
    new_markdown_cell("## A simulated day\n\nScale-out cool-down 60 s, scale-in cool-down 300 s, instance "
                      "warm-up 300 s (billed, not serving); a month-end burst at 14:00."),
    new_code_cell('''day = pd.DataFrame(cap.simulate(arrivals, fleets[CHOSEN], settings[CHOSEN], STEP_S))
fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
ax1.plot(day["hour"], day["queue_pages"], label="queue (pages)")
ax1.set_ylabel("pages waiting"); ax1.legend(loc="upper left")
ax1b = ax1.twinx()
ax1b.plot(day["hour"], day["arrival_pages_s"], color="grey", lw=0.8)
ax1b.set_ylabel("arrivals pages/s")
ax2.step(day["hour"], day["in_service"], where="post", label="in service")
ax2.step(day["hour"], day["billed"], where="post", ls="--", label="billed (incl. warm-up)")
ax2.set_ylabel("instances"); ax2.set_xlabel("hour of day"); ax2.legend()
ax1.set_title(CHOSEN)
print(f"worst wait {day['wait_s'].replace(math.inf, float('nan')).max():.0f} s; target {LATENCY_TARGET_S} s")'''),
    new_markdown_cell("## Cost per 1,000 pages"),
    new_code_cell('''rows = []
for name, f in fleets.items():
    sim = cap.day_cost(cap.simulate(arrivals, f, settings[name], STEP_S), f, STEP_S)
    rows.append({"instance": name, "full use on-demand": cap.full_use_cost_per_1000(f, f.on_demand_hour),
                 "full use Spot": cap.full_use_cost_per_1000(f, f.spot_hour),
                 "simulated day on-demand": sim["on_demand_per_1000"], "simulated day Spot": sim["spot_per_1000"],
                 "instance-hours/day": sim["instance_hours"], "managed OCR": cap.MANAGED_PER_1000})
pd.DataFrame(rows).round(3)'''),
]


def write(name: str, cells: list) -> Path:
    """One notebook with a python3 kernel spec and no outputs (yet)."""
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    for i, cell in enumerate(nb.cells):
        cell.id = f"{Path(name).stem}-{i}"  # stable ids: a rebuild changes only what was edited
    path = HERE / name
    nbformat.write(nb, path)
    return path


def execute(name: str, bench_dir: Path | None = None, timeout_s: int = 120) -> nbformat.NotebookNode:
    """Run every cell of ``notebooks/<name>`` (this interpreter's kernel) on the run in ``bench_dir``
    (the notebook's own choice when None); returns the executed notebook."""
    import os

    import nbclient

    nb = nbformat.read(HERE / name, as_version=4)
    saved = os.environ.pop("OCR_BENCH_DIR", None)
    if bench_dir is not None:
        os.environ["OCR_BENCH_DIR"] = str(bench_dir)
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                                         resources={"metadata": {"path": str(HERE.parent)}})
        client.kernel_manager_class = _venv_kernel_manager()
        return client.execute()
    finally:
        os.environ.pop("OCR_BENCH_DIR", None)
        if saved is not None:
            os.environ["OCR_BENCH_DIR"] = saved


def _venv_kernel_manager():
    """A kernel manager that starts ipykernel with this interpreter (no installed kernelspec needed)."""
    import sys

    from jupyter_client.manager import KernelManager

    class VenvKernel(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    return VenvKernel


if __name__ == "__main__":
    for name, cells in (("throughput.ipynb", THROUGHPUT), ("capacity.ipynb", CAPACITY)):
        path = write(name, cells)
        nbformat.write(execute(name, HERE / "data" / "run"), path)
        print("wrote and executed", path)
