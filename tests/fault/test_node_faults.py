"""A whole Ray worker node killed mid-run: a cluster of a head (no CPUs) and two one-CPU worker
nodes on this machine, each ``ray start --block`` in its own process group; one group is
SIGKILLed while its engine holds a page. The service goes on with the other node and loses
nothing."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.devstack import free_port
from pipeline.samples import encode, render_page
from tests.fault.invariant import assert_invariant
from tests.helpers import indexed_keys, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([RAY, "start", "--block", "--disable-usage-stats", *args], env=env, cwd=REPO,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _cluster_cpus(env: dict[str, str], address: str) -> float:
    code = (f"import ray; ray.init(address={address!r}, logging_level='ERROR'); "
            "print(ray.cluster_resources().get('CPU', 0))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    return float(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else 0.0


def test_a_worker_node_killed_mid_run_loses_nothing(settings, resources, s3, sqs):
    objects = {f"node/{i}.png": encode(render_page([f"ノード試験 {i}", f"node test {i}"]), "PNG") for i in range(8)}
    upload(s3, resources.bucket, objects)
    token = secrets.token_hex(16)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": str(REPO), "OMP_THREAD_LIMIT": "1"}
    env.pop("RAY_ADDRESS", None)
    address = f"127.0.0.1:{free_port()}"
    procs = [_start(["--head", "--num-cpus", "0", "--port", address.split(":")[1], "--include-dashboard", "false",
                     "--ray-client-server-port", str(free_port())], env)]
    try:
        time.sleep(3)
        procs += [_start(["--address", address, "--num-cpus", "1"], env) for _ in range(2)]
        deadline = time.monotonic() + 90
        while _cluster_cpus(env, address) < 2:
            assert time.monotonic() < deadline, "the two worker nodes did not join"
            time.sleep(1)
        service_env = {**env, "OCR_QUEUE_URL": settings.queue_url, "OCR_DLQ_URL": settings.dlq_url,
                       "OCR_INDEX": settings.index, "OCR_BULK_MAX_DELAY_S": "0.3",
                       "OCR_ENGINE": "tests.fault.engines:SlowEngine", "OCR_PREFETCH_PER_WORKER": "1"}
        service = subprocess.Popen([sys.executable, "-m", "pipeline", "stream", "--address", address,
                                    "--exit-when-idle", "15"], env=service_env, cwd=REPO, start_new_session=True,
                                   stderr=subprocess.PIPE, text=True)
        procs.append(service)
        deadline = time.monotonic() + 120
        while sum(indexed_keys(settings).values()) < 1:
            assert service.poll() is None, service.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "nothing indexed"
            time.sleep(0.2)
        _kill(procs[1])  # a whole worker node: raylet, its workers, its object store
        _, err = service.communicate(timeout=300)
        assert service.returncode == 0, err[-3000:]
    finally:
        for proc in reversed(procs):
            _kill(proc)
    assert '"released for retry"' in err or '"WorkerLost"' in err, "the node's in-flight page was lost and retried"
    assert_invariant(settings, resources, sqs, set(objects), {})
