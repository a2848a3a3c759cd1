"""Worker nodes leaving mid-run, on a cluster of a head (no CPUs) and two one-CPU worker nodes on
this machine (Ray's own ``ray.cluster_utils.Cluster``, each node its own raylet and object store).
Killed (SIGKILL, not graceful) while its engine holds a page: the service goes on with the other
node and loses nothing. Drained as ``node-drain`` does on an Auto Scaling termination: its workers
finish their pages and end, and nothing is redone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.devstack.samples import encode, render_page
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


def _stream(settings, address: str) -> subprocess.Popen:
    env = {**os.environ, "OCR_QUEUE_URL": settings.queue_url, "OCR_DLQ_URL": settings.dlq_url,
           "OCR_INDEX": settings.index, "OCR_BULK_MAX_DELAY_S": "0.3", "OCR_PREFETCH_PER_WORKER": "1",
           "OCR_ENGINE": "tests.fault.engines:SlowEngine", "OCR_SPLIT_PAGES": "2",
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "pipeline", "stream", "--address", address,
                             "--exit-when-idle", "15"], env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)


def _wait_for_first_document(settings, service: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while sum(indexed_keys(settings).values()) < 1:
        assert service.poll() is None, service.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "nothing indexed"
        time.sleep(0.2)


def test_a_drained_worker_node_finishes_its_pages_and_nothing_is_redone(settings, resources, s3, sqs, monkeypatch):
    """Node A alone takes a long PDF (split in ranges of two pages: its bytes in A's object store,
    owned by A's worker)
    and some images; node B joins; A is drained while the PDF's pages are still being read on
    both. A's worker takes no new page, stays until the PDF is done (B's pages read its bytes),
    then ends; nothing is released for a retry."""
    from ray.cluster_utils import Cluster

    from pipeline.fleet.nodedrain import drain_ray_node, ocr_worker_pids

    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    local = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    node_a = local.add_node(num_cpus=1)
    local.wait_for_nodes()
    objects = {"drain/contract.pdf": encode([render_page([f"契約書 {p}頁", f"page {p}"]) for p in range(8)], "PDF")}
    objects |= {f"drain/{i}.png": encode(render_page([f"縮退試験 {i}", f"drain test {i}"]), "PNG") for i in range(3)}
    upload(s3, resources.bucket, objects)
    raylet = node_a.all_processes["raylet"][0].process.pid
    service = _stream(settings, local.address)
    try:
        _wait_for_first_document(settings, service)
        local.add_node(num_cpus=1)
        local.wait_for_nodes()
        assert ocr_worker_pids({raylet}), "node A runs an OCR worker"
        beats: list[float] = []
        drained = drain_ray_node(120, lambda: beats.append(time.monotonic()), address=local.address,
                                 node_id=node_a.node_id, raylets={raylet})
        assert drained, "node A's OCR worker did not end"
        assert beats, "the lifecycle hook was heartbeaten while waiting"
        local.remove_node(node_a)
        _, err = service.communicate(timeout=300)
    finally:
        if service.poll() is None:
            service.kill()
        local.shutdown()
    assert service.returncode == 0, err[-3000:]
    assert "its node is being drained" in err
    assert '"released for retry"' not in err and "WorkerLost" not in err, "a page was redone"
    assert_invariant(settings, resources, sqs, set(objects), {})


def test_a_worker_node_killed_mid_run_loses_nothing(settings, resources, s3, sqs, cluster):
    local, nodes = cluster
    objects = {f"node/{i}.png": encode(render_page([f"ノード試験 {i}", f"node test {i}"]), "PNG") for i in range(8)}
    upload(s3, resources.bucket, objects)
    service = _stream(settings, local.address)
    try:
        _wait_for_first_document(settings, service)
        local.remove_node(nodes[0], allow_graceful=False)  # raylet, its workers, its object store
        _, err = service.communicate(timeout=300)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, err[-3000:]
    assert '"released for retry"' in err, "the node's in-flight page was lost and retried"
    assert_invariant(settings, resources, sqs, set(objects), {})
