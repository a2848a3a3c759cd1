"""The local stack: moto's server for S3+SQS (a queue with a DLQ and redrive policy, a bucket
whose event notifications go to the queue) and osmem-server for OpenSearch. Same code as AWS:
only the environment differs (``AWS_ENDPOINT_URL`` and friends)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

BUCKET = "file-search-documents"
QUEUE = "file-processing-queue"
DLQ = "file-processing-dlq"
REGION = "us-east-1"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalStack:
    """Running local servers and the resources created on them."""

    moto: subprocess.Popen
    osmem: Any
    endpoint: str
    opensearch_url: str
    queue_url: str = ""
    dlq_url: str = ""
    bucket: str = BUCKET
    env: dict[str, str] = field(default_factory=dict)

    def apply_env(self) -> None:
        """Export the stack's addresses so boto3 and Settings pick them up."""
        os.environ.update(self.env)

    def stop(self) -> None:
        """Stop both servers."""
        self.osmem.close()
        self.moto.terminate()
        try:
            self.moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.moto.kill()


def start_stack(max_receive_count: int = 3, visibility_timeout_s: int = 120, log_dir: Path | None = None) -> LocalStack:
    """Start moto and osmem-server on free ports, create the bucket, queues and notification."""
    from osmem_server import OsmemServer

    port = free_port()
    log = open(log_dir / "moto.log", "ab") if log_dir else subprocess.DEVNULL  # noqa: SIM115
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    _wait_http(endpoint + "/moto-api/", moto)
    osmem = OsmemServer.start(japanese=True)
    stack = LocalStack(moto, osmem, endpoint, osmem.url)
    stack.env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "OCR_OPENSEARCH_URL": osmem.url,
    }
    stack.apply_env()
    create_resources(stack, "", max_receive_count, visibility_timeout_s)
    return stack


@dataclass
class Resources:
    """A bucket whose events go to a queue that has a DLQ."""

    bucket: str
    queue_url: str
    dlq_url: str


def create_resources(
    stack: LocalStack, suffix: str = "", max_receive_count: int = 3, visibility_timeout_s: int = 120
) -> Resources:
    """Bucket, DLQ, queue with redrive policy, and S3 -> SQS event notification; exported as OCR_*."""
    import boto3

    from pipeline.sources.sqs import queue_arn

    sqs = boto3.client("sqs", endpoint_url=stack.endpoint)
    s3 = boto3.client("s3", endpoint_url=stack.endpoint)
    dlq_url = sqs.create_queue(QueueName=DLQ + suffix, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": str(max_receive_count)})
    queue_url = sqs.create_queue(
        QueueName=QUEUE + suffix,
        Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(visibility_timeout_s)},
    )["QueueUrl"]
    arn = queue_arn(sqs, queue_url)
    bucket = BUCKET + suffix.lower()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    stack.queue_url, stack.dlq_url, stack.bucket = queue_url, dlq_url, bucket
    stack.env.update({"OCR_QUEUE_URL": queue_url, "OCR_DLQ_URL": dlq_url})
    stack.apply_env()
    return Resources(bucket, queue_url, dlq_url)


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"moto server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise ConfigError(f"moto server did not answer at {url} within {timeout_s:g} s")
