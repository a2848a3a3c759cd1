"""A whole Ray worker node killed mid-run: a cluster of a head (no CPUs) and two one-CPU worker
nodes on this machine (Ray's own ``ray.cluster_utils.Cluster``, each node its own raylet and
object store); one node is killed (SIGKILL, not graceful) while its engine holds a page. The
service goes on with the other node and loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.samples import encode, render_page
from tests.fault.invariant import assert_invariant
from tests.helpers import indexed_keys, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(monkeypatch):
    """Head without CPUs + two worker nodes of one CPU; the nodes' workers can import ``tests``."""
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    local = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [local.add_node(num_cpus=1) for _ in range(2)]
    local.wait_for_nodes()
    yield local, nodes
    local.shutdown()


def test_a_worker_node_killed_mid_run_loses_nothing(settings, resources, s3, sqs, cluster):
    local, nodes = cluster
    objects = {f"node/{i}.png": encode(render_page([f"ノード試験 {i}", f"node test {i}"]), "PNG") for i in range(8)}
    upload(s3, resources.bucket, objects)
    env = {**os.environ, "OCR_QUEUE_URL": settings.queue_url, "OCR_DLQ_URL": settings.dlq_url,
           "OCR_INDEX": settings.index, "OCR_BULK_MAX_DELAY_S": "0.3", "OCR_PREFETCH_PER_WORKER": "1",
           "OCR_ENGINE": "tests.fault.engines:SlowEngine", "PYTHONUNBUFFERED": "1"}
    service = subprocess.Popen([sys.executable, "-m", "pipeline", "stream", "--address", local.address,
                                "--exit-when-idle", "15"], env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while sum(indexed_keys(settings).values()) < 1:
            assert service.poll() is None, service.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "nothing indexed"
            time.sleep(0.2)
        local.remove_node(nodes[0], allow_graceful=False)  # raylet, its workers, its object store
        _, err = service.communicate(timeout=300)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, err[-3000:]
    assert '"released for retry"' in err, "the node's in-flight page was lost and retried"
    assert_invariant(settings, resources, sqs, set(objects), {})
