"""The analysis notebooks execute (nbclient, the venv's own kernel) on the bundled sample, and the
harness runs end to end on a tiny configuration, its output read by the throughput notebook."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def execute(name: str, bench_dir: Path) -> object:
    """Run every cell of ``notebooks/<name>`` on the run in ``bench_dir``; returns the notebook."""
    for module in ("nbformat", "nbclient", "ipykernel"):
        pytest.importorskip(module)
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build.execute(name, bench_dir)


@pytest.mark.parametrize("name", ["throughput.ipynb", "capacity.ipynb"])
def test_notebook_executes_on_the_bundled_sample(name: str) -> None:
    nb = execute(name, NOTEBOOKS / "data" / "sample")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(o.output_type == "display_data" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("name", ["throughput.ipynb", "capacity.ipynb"])
def test_notebooks_are_stored_executed_on_the_committed_real_run(name: str) -> None:
    """Readable without running: every code cell has run, in order, its plots drawn, on the run
    in ``notebooks/data/run/`` (a real benchmark run, not ``--quick``)."""
    nb = json.loads((NOTEBOOKS / name).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1))
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert any(o["output_type"] == "display_data" for c in code for o in c["outputs"])
    first = "".join("".join(o["text"]) for o in code[0]["outputs"] if o["output_type"] == "stream")
    assert "records from notebooks/data/run" in first
    run = json.loads((NOTEBOOKS / "data" / "run" / "summary.json").read_text())
    assert run["quick"] is False and run["pages"] >= 24


@pytest.mark.slow
@pytest.mark.stack
@pytest.mark.ray
@pytest.mark.tesseract
def test_the_harness_runs_end_to_end_on_a_tiny_configuration(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--pages", "3", "--cores", "1", "--baseline-pages", "1",
           "--paced-docs", "1", "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "stream" in done.stdout and "baseline" in done.stdout
    for name in ("summary.json", "pages.parquet", "throughput.png", "latency.png", "breakdown.png", "quality.png"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    run = summary["runs"][0]
    assert run["stream"]["pages"] == 3 and run["limit"]["pages"] == 3  # every page through both; speed not asserted
    assert run["quality"]["documents"] == summary["documents"]
    nb = execute("throughput.ipynb", out)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
