"""Fixtures of the operations tests: boto3 clients bound to the resettable moto server
(``moto_endpoint``, tests/conftest.py), reset to an empty account before each test.

Calls moto 5.2 lacks (start_instance_refresh, describe_instance_refreshes, and failed scaling
activities, which moto never produces) are covered with botocore's Stubber, which checks each
request against the API model.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from pipeline.devstack.stack import REGION
from tests.helpers import reset_moto


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Standard AWS variables pointing boto3 (and so the CLI) at a freshly reset moto."""
    reset_moto(moto_endpoint)
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


@pytest.fixture
def make_client(aws_env: str) -> Any:
    """boto3 client factory bound to moto."""

    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=aws_env, region_name=REGION)

    return make


@pytest.fixture
def unique() -> str:
    """A short unique suffix: tests share one moto server."""
    return uuid.uuid4().hex[:8]
