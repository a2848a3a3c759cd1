"""Shared fixtures: the local stack (moto server + osmem-server) and a local Ray, started once
per session; a fresh bucket/queue/DLQ/index per test so tests never see each other's messages."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"


@pytest.fixture(scope="session")
def stack() -> Iterator:
    """moto (S3+SQS) and osmem-server (OpenSearch) on free ports; AWS_* and OCR_* exported."""
    from pipeline.devstack.stack import start_stack

    saved = dict(os.environ)
    local = start_stack()
    yield local
    local.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def resources(stack):
    """A new bucket -> queue -> DLQ chain for this test (maxReceiveCount 3)."""
    from pipeline.devstack.stack import create_resources

    return create_resources(stack, suffix="-" + uuid.uuid4().hex[:8])


@pytest.fixture
def settings(stack, resources):
    """Settings bound to this test's queue and a fresh index."""
    from pipeline.settings import Settings

    return Settings(
        queue_url=resources.queue_url,
        dlq_url=resources.dlq_url,
        opensearch_url=stack.opensearch_url,
        index="documents-" + uuid.uuid4().hex[:8],
        heartbeat_s=2,
        visibility_timeout_s=30,
        bulk_max_delay_s=0.3,
        drain_timeout_s=30,
    )


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """One local Ray for the session: 2 CPUs, no dashboard, 1 GB object store."""
    import ray

    from pipeline.fleet.raycluster import connect

    connect(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture
def s3(stack):
    """A boto3 S3 client on the local stack."""
    import boto3

    return boto3.client("s3")


@pytest.fixture
def sqs(stack):
    """A boto3 SQS client on the local stack."""
    import boto3

    return boto3.client("sqs")


@pytest.fixture
def opensearch(stack, settings):
    """An opensearch-py client on osmem-server."""
    from pipeline.sinks.opensearch import make_client

    return make_client(settings)
