"""What a reused Ray worker process keeps of a driver's environment (no Ray needed)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pipeline.fleet.raycluster import adopt_env, worker_env


@pytest.fixture
def node_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")  # the node's own, from its env file
    yield
    adopt_env({})  # give the process its values back before monkeypatch restores the rest


def test_a_later_driver_does_not_inherit_an_earlier_drivers_endpoint(node_env: None) -> None:
    adopt_env({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9/proxy", "OMP_THREAD_LIMIT": "1"})
    assert os.environ["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9/proxy"

    adopt_env({"OMP_THREAD_LIMIT": "1"})

    assert "AWS_ENDPOINT_URL_S3" not in os.environ


def test_what_the_driver_does_not_send_keeps_the_nodes_value(node_env: None) -> None:
    adopt_env({"AWS_REGION": "us-east-1"})
    assert os.environ["AWS_REGION"] == "us-east-1"

    adopt_env({"OMP_THREAD_LIMIT": "1"})

    assert os.environ["AWS_REGION"] == "ap-northeast-1"


def test_the_driver_sends_one_thread_and_its_endpoints_never_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-forwarded")
    env = worker_env()
    assert env["OMP_THREAD_LIMIT"] == "1" and env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert "AWS_SECRET_ACCESS_KEY" not in env
