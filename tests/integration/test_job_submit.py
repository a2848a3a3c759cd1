"""``ray job submit`` of a backfill to a running cluster with token authentication on:
``ray start --head`` (with its dashboard, which serves the job API), then
``ray job submit --working-dir . -- python -m pipeline backfill s3://...``."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.devstack.stack import free_port
from tests import inputs
from tests.helpers import indexed_keys, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
EXCLUDES = [".git", ".venv", ".venv-checkov", "notebooks", "terraform", "ami", "out", ".devstack"]


def _dashboard_deps() -> bool:
    try:
        import aiohttp  # noqa: F401
        import opencensus  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _dashboard_deps(), reason="the job API needs ray[default] (the dashboard's packages)")
def test_a_backfill_submitted_with_ray_job_submit_indexes_the_prefix(settings, resources, s3, tmp_path):
    keys = [f"job/page {i}.png" for i in range(6)]
    upload(s3, resources.bucket, dict.fromkeys(keys, inputs.png_page(["短い 1"])) | {"job/zero.png": b""})
    token = secrets.token_hex(16)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # as with the venv activated
    env.pop("RAY_ADDRESS", None)
    dashboard = free_port()
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--num-cpus", "2", "--port", str(free_port()),
         "--dashboard-port", str(dashboard), "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
         "--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
         "--disable-usage-stats"],
        env=env, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{dashboard}"
    try:
        _wait_for(address, head)
        job_env = {k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
                                              "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        job_env |= {"OCR_OPENSEARCH_URL": settings.opensearch_url, "OCR_INDEX": settings.index}
        runtime_env = json.dumps({"env_vars": job_env, "excludes": EXCLUDES})
        submit = [RAY, "job", "submit", "--address", address, "--working-dir", ".", "--runtime-env-json",
                  runtime_env, "--", "python", "-m", "pipeline", "backfill", f"s3://{resources.bucket}/job/",
                  "--json", "--no-progress"]

        refused = subprocess.run(submit, env={**env, "RAY_AUTH_TOKEN": "0" * 32}, cwd=REPO, capture_output=True,
                                 text=True, timeout=60)
        done = subprocess.run(submit, env=env, cwd=REPO, capture_output=True, text=True, timeout=240)
    finally:
        _stop(head)

    assert refused.returncode != 0, "a wrong token was accepted: token authentication is off"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert '"processed": 6' in done.stdout and '"EmptyObject": 1' in done.stdout
    assert indexed_keys(settings) == dict.fromkeys(keys, 1)


def _wait_for(address: str, head: subprocess.Popen, timeout_s: float = 90) -> None:
    """Until the dashboard answers at all (401 without a token counts as up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert head.poll() is None, "ray start exited"
        try:
            urllib.request.urlopen(address + "/api/version", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the Ray dashboard did not come up at {address}")


def _stop(head: subprocess.Popen) -> None:
    """Stop this cluster only (its process group), never every Ray on the machine as ``ray stop`` would."""
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            break
        try:
            head.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGKILL)  # what outlived ray start (gcs_server, raylet)
