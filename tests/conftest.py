"""Shared fixtures: the servers and a local Ray, each started once per session; a fresh
bucket/queue/DLQ/index per test so tests never see each other's messages. One region for all of
them: the stack's (:data:`pipeline.devstack.stack.REGION`).

The servers, and why each is there:

- ``stack``: moto's server (S3+SQS) and osmem-server, started as the demo starts them
  (:func:`pipeline.devstack.stack.start_stack`). Every test that needs S3, SQS or OpenSearch
  uses it (integration, fault, ``doctor``, ``smoke``), each with its own bucket/queue/DLQ
  (``resources``) and index (``settings``). It is never reset: tests only add to it.
- ``moto_endpoint``: a second moto server, for the tests that need an empty account and reset it
  before each test (``/moto-api/reset``: AMI pruning counts every image, ``status`` every group,
  the boot test creates fixed SSM names), and for the IAM tests, which turn enforcement on
  (``/moto-api/reset-auth``, the server-wide ``INITIAL_NO_AUTH_ACTION_COUNT``). A reset wipes a
  whole server and enforcement denies every caller without a policy, so neither can happen on
  the stack's: it would take the session's bucket and queues, and the stack's ``testing`` keys
  would be refused. ``aws_env`` (tests/ops/conftest.py) resets it and turns enforcement off.
- ``imds``: one fake IMDSv2 (token on PUT, metadata only with it), for ``doctor`` and the boot
  test; each sets the metadata it serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The resettable moto server (see the module docstring): ``python -m moto.server``."""
    from pipeline.devstack.stack import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto.server did not start") from None
            time.sleep(0.2)
    yield url
    proc.kill()  # nothing to keep; moto's werkzeug server can take >10 s to honour SIGTERM
    proc.wait(timeout=10)


class FakeImds:
    """IMDSv2 as EC2 serves it: a session token on ``PUT /latest/api/token`` (with its TTL
    header), ``GET /latest/meta-data/<path>`` only with that token (401 without), 404 for a path
    not in ``metadata``. A value may be a list: the answers to successive reads, the last one
    repeated (a lifecycle state that changes while a node watches it)."""

    TOKEN = "imds-session-token-1"

    def __init__(self) -> None:
        self.metadata: dict[str, str | list[str]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                self._reply(200 if ok else 400, fake.TOKEN if ok else "")

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") != fake.TOKEN:
                    self._reply(401, "")
                    return
                value = fake.answer(self.path.removeprefix("/latest/meta-data/"))
                self._reply(404 if value is None else 200, value or "")

            def _reply(self, code: int, body: str) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> str | None:
        """What a read of ``path`` returns now (a list's next answer), or None (404)."""
        value = self.metadata.get(path)
        if isinstance(value, list):
            return value.pop(0) if len(value) > 1 else value[0]
        return value

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def imds() -> Iterator[FakeImds]:
    """The one fake IMDSv2; set ``imds.metadata`` to what the instance should show."""
    fake = FakeImds()
    yield fake
    fake.close()
