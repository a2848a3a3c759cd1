"""The guide's daily health check on one screen.

Desired / running / healthy instances of the group, visible and in-flight messages, DLQ
depth, age of the oldest message (CloudWatch ``AWS/SQS ApproximateAgeOfOldestMessage``) and
the group's failed scaling activities of the last day.

Exit codes (for cron): 0 all well; 1 needs attention (DLQ not empty, no healthy instance while
instances are wanted or messages wait, oldest message over the limit, failed scaling
activities); 2 configuration error.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from pipeline.errors import ConfigError
from pipeline.ops.aws import paginate, queue_name
from pipeline.sources.sqs import SqsQueue

FAILED_ACTIVITY = {"Failed", "Cancelled"}


@dataclasses.dataclass
class Status:
    """Everything the health check reads, and what needs attention."""

    asg: str
    desired: int
    running: int
    in_service: int
    healthy: int
    visible: int
    in_flight: int
    dlq_url: str
    dlq_depth: int
    oldest_age_s: float | None
    failed_activities: list[dict[str, str]]
    attention: list[str] = dataclasses.field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when all is well, 1 when something needs attention."""
        return 1 if self.attention else 0


def group_counts(autoscaling: Any, asg: str) -> dict[str, int]:
    """Desired capacity, instances, in-service and healthy instances of the group."""
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg])["AutoScalingGroups"]
    if not groups:
        raise ConfigError(f"Auto Scaling group {asg!r} does not exist")
    instances = groups[0].get("Instances", [])
    return {
        "desired": int(groups[0]["DesiredCapacity"]),
        "running": len(instances),
        "in_service": sum(1 for i in instances if i.get("LifecycleState") == "InService"),
        "healthy": sum(1 for i in instances if i.get("HealthStatus") == "Healthy"),
    }


def failed_activities(autoscaling: Any, asg: str, now: datetime, since: timedelta) -> list[dict[str, str]]:
    """Scaling activities that failed or were cancelled within ``since`` before ``now``."""
    cutoff = now - since
    failed = []
    for activity in paginate(autoscaling, "describe_scaling_activities", "Activities", AutoScalingGroupName=asg):
        started = activity["StartTime"]
        if started.tzinfo is None:
            started = started.replace(tzinfo=timezone.utc)
        if started >= cutoff and activity.get("StatusCode") in FAILED_ACTIVITY:
            failed.append(
                {
                    "time": started.isoformat(timespec="seconds"),
                    "status": str(activity["StatusCode"]),
                    "cause": str(activity.get("StatusMessage") or activity.get("Description", "")),
                }
            )
    return failed


def oldest_message_age(cloudwatch: Any, queue: str, now: datetime) -> float | None:
    """Latest ApproximateAgeOfOldestMessage of the queue (last 15 minutes), None without data."""
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "age",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{"Name": "QueueName", "Value": queue}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=now - timedelta(minutes=15),
        EndTime=now,
        ScanBy="TimestampDescending",
    )
    values = answer["MetricDataResults"][0].get("Values", [])
    return float(values[0]) if values else None


def _dlq_of(sqs: Any, queue_url: str) -> str:
    """The DLQ named by the queue's redrive policy, or "" when it has none (status reports that)."""
    try:
        return SqsQueue(sqs, queue_url).dlq_url
    except ConfigError:
        return ""


def collect(
    autoscaling: Any,
    sqs: Any,
    cloudwatch: Any,
    *,
    asg: str,
    queue_url: str,
    dlq_url: str = "",
    max_age_s: float = 1800.0,
    now: datetime | None = None,
) -> Status:
    """Read the health check and decide what needs attention."""
    now = now or datetime.now(timezone.utc)
    group = group_counts(autoscaling, asg)
    queue = SqsQueue(sqs, queue_url, dlq_url).depth()
    dlq_url = dlq_url or _dlq_of(sqs, queue_url)
    status = Status(
        asg=asg,
        **group,
        visible=queue["visible"],
        in_flight=queue["in_flight"],
        dlq_url=dlq_url,
        dlq_depth=SqsQueue(sqs, dlq_url).depth()["visible"] if dlq_url else 0,
        oldest_age_s=oldest_message_age(cloudwatch, queue_name(queue_url), now),
        failed_activities=failed_activities(autoscaling, asg, now, timedelta(days=1)),
    )
    status.attention = attention(status, max_age_s)
    return status


def attention(status: Status, max_age_s: float) -> list[str]:
    """The findings an operator must act on."""
    found = []
    if not status.dlq_url:
        found.append("no DLQ: the queue has no redrive policy and OCR_DLQ_URL is empty")
    if status.dlq_depth:
        found.append(f"{status.dlq_depth} message(s) in the DLQ")
    if status.healthy == 0 and (status.desired > 0 or status.visible > 0):
        found.append("no healthy instance")
    if status.oldest_age_s is not None and status.oldest_age_s > max_age_s:
        found.append(f"oldest message is {status.oldest_age_s:.0f} s old (limit {max_age_s:.0f} s)")
    if status.failed_activities:
        found.append(f"{len(status.failed_activities)} failed scaling activit(y/ies) in the last day")
    return found


def render_text(status: Status) -> str:
    """One screen of aligned plain text."""
    age = "n/a (no CloudWatch data)" if status.oldest_age_s is None else f"{status.oldest_age_s:.0f} s"
    rows = [
        ("Auto Scaling group", status.asg),
        ("instances desired/running/healthy", f"{status.desired} / {status.running} / {status.healthy}"),
        ("instances in service", str(status.in_service)),
        ("messages visible", str(status.visible)),
        ("messages in flight", str(status.in_flight)),
        ("DLQ depth", str(status.dlq_depth)),
        ("oldest message age", age),
        ("failed scaling activities (24 h)", str(len(status.failed_activities))),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    for activity in status.failed_activities:
        lines.append(f"  {activity['time']}  {activity['status']}  {activity['cause']}")
    lines.append("")
    lines.append("ATTENTION: " + "; ".join(status.attention) if status.attention else "OK")
    return "\n".join(lines)


def render_json(status: Status) -> str:
    """The status as a JSON object (with ``exit_code`` and ``attention``)."""
    return json.dumps({**dataclasses.asdict(status), "exit_code": status.exit_code}, indent=2)
