"""The scaling signal for target tracking: backlog per instance, and a page-weighted backlog.

``BacklogPerInstance`` = visible messages / in-service instances. ``PageWeightedBacklogSeconds``
= visible messages x measured pages per message x measured seconds per page / instances, which
is the time the fleet needs to clear the queue: a latency target can be tracked directly.
``PagesPerSecond`` is the service's rate since it started, and ``DocumentsFailed`` the messages
it dead-lettered since the last publish (the error-rate alarm sums it over 5 minutes).
:data:`PUBLISHED` names them all: every alarm and widget of terraform/ watches one of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pipeline.settings import Settings
from pipeline.stream import ledger

PUBLISHED = ("BacklogPerInstance", "PageWeightedBacklogSeconds", "PagesPerSecond", "DocumentsFailed")


@dataclass
class Backlog:
    """One reading of the queue and the group."""

    visible: int
    in_service: int
    pages_per_message: float
    seconds_per_page: float
    cores_per_instance: int = 1

    def per_instance(self) -> float:
        """Visible messages per in-service instance (all of them when none is in service)."""
        return self.visible / max(1, self.in_service)

    def seconds_to_clear(self) -> float:
        """Page-weighted backlog: seconds the group needs to clear the queue at the measured rate."""
        work = self.visible * self.pages_per_message * self.seconds_per_page
        return work / max(1, self.in_service * self.cores_per_instance)


def metric_data(b: Backlog, asg: str) -> list[dict[str, Any]]:
    """The CloudWatch ``MetricData`` for one reading."""
    dims = [{"Name": "AutoScalingGroupName", "Value": asg}]
    return [
        {"MetricName": "BacklogPerInstance", "Dimensions": dims, "Value": b.per_instance(), "Unit": "Count"},
        {"MetricName": "PageWeightedBacklogSeconds", "Dimensions": dims, "Value": b.seconds_to_clear(),
         "Unit": "Seconds"},
    ]


class BacklogPublisher:
    """Publishes the scaling metrics every ``every_s`` from the running service."""

    def __init__(self, cloudwatch: Any, autoscaling: Any, namespace: str, asg: str, every_s: float = 60.0) -> None:
        self.cloudwatch = cloudwatch
        self.autoscaling = autoscaling
        self.namespace = namespace
        self.asg = asg
        self.every_s = every_s
        self._last = 0.0
        self._failed = 0  # dead-lettered messages already published

    @classmethod
    def from_settings(cls, settings: Settings) -> BacklogPublisher:
        """Clients from the environment, names from settings."""
        from pipeline.awsclients import aws_client

        return cls(aws_client("cloudwatch"), aws_client("autoscaling"), settings.cloudwatch_namespace,
                   settings.asg_name)

    def in_service(self) -> int:
        """Instances of the group in service (1 when no group is configured: a single node)."""
        if not self.asg:
            return 1
        groups = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[self.asg])["AutoScalingGroups"]
        return sum(1 for g in groups for i in g["Instances"] if i["LifecycleState"] == "InService")

    def publish_if_due(self, service: Any) -> None:
        """Read the queue and the group, then put the metrics (at most every ``every_s``)."""
        if time.monotonic() - self._last < self.every_s:
            return
        self._last = time.monotonic()
        records = service.records[-200:]
        pages = sum(r["pages"] for r in records)
        ocr_s = sum(r.get("ocr_s", 0.0) for r in records)
        reading = Backlog(
            visible=service.queue.depth()["visible"],
            in_service=self.in_service(),
            pages_per_message=pages / len(records) if records else 1.0,
            seconds_per_page=ocr_s / pages if pages else 2.0,
            cores_per_instance=max(1, service.pool.size // max(1, self.in_service())),
        )
        data = metric_data(reading, self.asg or "local")
        dims = data[0]["Dimensions"]
        failed = int(service.counts.get(ledger.DEAD_LETTERED, 0))
        data += [
            {"MetricName": "PagesPerSecond", "Dimensions": dims, "Unit": "Count/Second",
             "Value": service.metrics.pages / max(1.0, time.monotonic() - service.started_at)},
            {"MetricName": "DocumentsFailed", "Dimensions": dims, "Unit": "Count", "Value": failed - self._failed},
        ]
        self.cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=data)
        self._failed = failed
