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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.settings import Settings

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


@dataclass
class ServiceReading:
    """What the publisher needs of the running service: taken by the service when a publish is due."""

    visible: int  # messages waiting in the queue
    workers: int  # OCR workers of this service
    pages: int  # pages indexed since the service started
    uptime_s: float
    dead_lettered: int  # messages dead-lettered since the service started
    recent: list[tuple[int, float]] = field(default_factory=list)  # (pages, engine s) of the last documents

    def pages_per_message(self) -> float:
        """Measured pages per message (1 before any was indexed)."""
        pages = sum(p for p, _ in self.recent)
        return pages / len(self.recent) if self.recent else 1.0

    def seconds_per_page(self) -> float:
        """Measured engine seconds per page (2 before any was indexed)."""
        pages = sum(p for p, _ in self.recent)
        return sum(s for _, s in self.recent) / pages if pages else 2.0


def metric_data(b: Backlog, asg: str) -> list[dict[str, Any]]:
    """The CloudWatch ``MetricData`` for one reading."""
    dims = [{"Name": "AutoScalingGroupName", "Value": asg}]
    return [
        {"MetricName": "BacklogPerInstance", "Dimensions": dims, "Value": b.per_instance(), "Unit": "Count"},
        {"MetricName": "PageWeightedBacklogSeconds", "Dimensions": dims, "Value": b.seconds_to_clear(),
         "Unit": "Seconds"},
    ]


class BacklogPublisher:
    """Publishes the scaling metrics every ``every_s`` from readings of the running service."""

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

    def due(self) -> bool:
        """Whether ``every_s`` has passed since the last publish."""
        return time.monotonic() - self._last >= self.every_s

    def publish_if_due(self, take_reading: Callable[[], ServiceReading]) -> None:
        """Put the metrics (at most every ``every_s``) from a reading of the service taken now."""
        if not self.due():
            return
        self._last = time.monotonic()
        self.publish(take_reading())

    def publish(self, reading: ServiceReading) -> None:
        """Put the metrics of one reading of the service (and of the group, asked once)."""
        in_service = self.in_service()
        backlog = Backlog(
            visible=reading.visible,
            in_service=in_service,
            pages_per_message=reading.pages_per_message(),
            seconds_per_page=reading.seconds_per_page(),
            cores_per_instance=max(1, reading.workers // max(1, in_service)),
        )
        data = metric_data(backlog, self.asg or "local")
        dims = data[0]["Dimensions"]
        data += [
            {"MetricName": "PagesPerSecond", "Dimensions": dims, "Unit": "Count/Second",
             "Value": reading.pages / max(1.0, reading.uptime_s)},
            {"MetricName": "DocumentsFailed", "Dimensions": dims, "Unit": "Count",
             "Value": reading.dead_lettered - self._failed},
        ]
        self.cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=data)
        self._failed = reading.dead_lettered
