"""Alarms on what is published: every metric of the service's namespace that a Terraform alarm,
widget or scaling policy names is one the code puts (on moto's CloudWatch, read back by name);
and the stream service outlives a publisher that fails."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from pipeline.devstack.stack import REGION
from pipeline.fleet.scaling import PUBLISHED, BacklogPublisher, ServiceReading
from pipeline.settings import Settings
from pipeline.sources.sqs import SqsQueue
from pipeline.stream.service import StreamService
from tests.infra import tfrender

NAMESPACE_REFS = ("${var.metrics_namespace}",)


def _named_in(value: Any, found: set[str]) -> None:
    """Metric names next to the service's namespace anywhere in a parsed module."""
    if isinstance(value, dict):
        if value.get("namespace") in NAMESPACE_REFS and "metric_name" in value:
            found.add(value["metric_name"])
        for item in value.values():
            _named_in(item, found)
    elif isinstance(value, list):
        if value and value[0] in NAMESPACE_REFS and len(value) > 1 and isinstance(value[1], str):
            found.add(value[1])  # a dashboard widget's [namespace, metric, dims...]
        for item in value:
            _named_in(item, found)


def terraform_metric_names() -> set[str]:
    """Every metric of the service's namespace that observability and workers watch."""
    found: set[str] = set()
    for module in ("observability", "workers"):
        directory = tfrender.TF / "modules" / module
        for path in directory.glob("*.tf"):
            _named_in(tfrender.load(path), found)
    return found


def reading(queue: SqsQueue, failed: int) -> ServiceReading:
    """A reading of a running service, with ``failed`` messages dead-lettered since it started."""
    return ServiceReading(visible=queue.depth()["visible"], workers=2, pages=20, uptime_s=10.0,
                          dead_lettered=failed, recent=[(2, 3.0)])


def test_terraform_watches_only_published_metrics(make_client: Any, unique: str) -> None:
    watched = terraform_metric_names()
    assert {"DocumentsFailed", "PagesPerSecond", "BacklogPerInstance", "PageWeightedBacklogSeconds"} <= watched
    sqs, cloudwatch = make_client("sqs"), make_client("cloudwatch")
    queue = SqsQueue(sqs, sqs.create_queue(QueueName=f"metrics-{unique}")["QueueUrl"])
    namespace = f"OcrCluster{unique}"
    publisher = BacklogPublisher(cloudwatch, make_client("autoscaling"), namespace, "", every_s=0)
    publisher.publish_if_due(lambda: reading(queue, 3))
    publisher.publish_if_due(lambda: reading(queue, 5))
    published = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace=namespace)["Metrics"]}
    assert published == set(PUBLISHED)
    assert watched <= published, f"Terraform watches metrics nothing publishes: {watched - published}"
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="DocumentsFailed", Statistics=["Sum"], Period=60,
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": "local"}],
        StartTime=time.time() - 600, EndTime=time.time() + 600)["Datapoints"]
    assert sum(point["Sum"] for point in stats) == 5, "each publish adds the new dead-letters only"


def test_the_stream_service_survives_a_failing_publisher(make_client: Any, unique: str) -> None:
    """A publisher whose CloudWatch is unreachable: the loop's publish logs, counts, goes on."""
    sqs = make_client("sqs")
    queue = SqsQueue(sqs, sqs.create_queue(QueueName=f"survive-{unique}")["QueueUrl"])
    with socket_closed() as dead:
        cloudwatch = boto3.client("cloudwatch", endpoint_url=dead, region_name=REGION,
                                  config=boto3.session.Config(retries={"max_attempts": 1}, connect_timeout=1))
        publisher = BacklogPublisher(cloudwatch, make_client("autoscaling"), "OcrCluster", "", every_s=0)
        service = StreamService(Settings(), queue, writer=None, pool=SimpleNamespace(size=1),  # type: ignore[arg-type]
                                publisher=publisher)
        with pytest.raises(Exception, match="Could not connect"):
            publisher.publish(service.reading())  # the publisher itself does fail
        service._publish()
        service._publish()
    assert service.publish_failures == 2


class socket_closed:
    """An endpoint URL on a port nobody listens on."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        return None
