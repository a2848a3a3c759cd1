"""``status`` against moto (Auto Scaling group, SQS with a DLQ, CloudWatch); failed scaling
activities, which moto never records, through botocore's Stubber."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.stub import Stubber

from pipeline.cli import main
from pipeline.devstack.stack import REGION
from pipeline.ops import status

ASG = "cis-filesearch-worker-asg"


@pytest.fixture
def fleet(make_client: Any) -> dict[str, Any]:
    """A 2-instance group, a queue with 3 messages (1 in flight) and a DLQ with 1."""
    ec2, autoscaling, sqs = make_client("ec2"), make_client("autoscaling"), make_client("sqs")
    image = ec2.register_image(Name="python-worker-v20240101-000000", RootDeviceName="/dev/xvda")["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="python-worker-template-v1", LaunchTemplateData={"ImageId": image})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=ASG,
        LaunchTemplate={"LaunchTemplateName": "python-worker-template-v1", "Version": "$Default"},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=2,
        AvailabilityZones=[f"{REGION}a"],
    )
    dlq = sqs.create_queue(QueueName="file-processing-queue-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="file-processing-queue",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})},
    )["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"doc {n}")
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=300)
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody="bad",
        MessageAttributes={"ErrorClass": {"DataType": "String", "StringValue": "CorruptDocument"}},
    )
    return {"autoscaling": autoscaling, "sqs": sqs, "cloudwatch": make_client("cloudwatch"), "queue": queue, "dlq": dlq}


def put_age(cloudwatch: Any, seconds: float) -> None:
    cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": "file-processing-queue"}],
                "Value": seconds,
                "Timestamp": datetime.now(timezone.utc) - timedelta(seconds=30),
            }
        ],
    )


def collect(fleet: dict[str, Any], **kwargs: Any) -> status.Status:
    return status.collect(
        fleet["autoscaling"], fleet["sqs"], fleet["cloudwatch"], asg=ASG, queue_url=fleet["queue"], **kwargs
    )


def test_collect_reads_the_guides_numbers(fleet: dict[str, Any]) -> None:
    put_age(fleet["cloudwatch"], 42.0)
    report = collect(fleet)
    assert (report.desired, report.running, report.in_service, report.healthy) == (2, 2, 2, 2)
    assert (report.visible, report.in_flight, report.dlq_depth) == (2, 1, 1)
    assert report.dlq_url == fleet["dlq"], "DLQ found through the redrive policy"
    assert report.oldest_age_s == 42.0
    assert report.attention == ["1 message(s) in the DLQ"] and report.exit_code == 1


def test_text_is_one_aligned_screen_and_json_matches(fleet: dict[str, Any]) -> None:
    report = collect(fleet)
    text = status.render_text(report).splitlines()
    assert len(text) <= 24
    column = len("instances desired/running/healthy") + 2  # the widest label
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in text[:8]), text
    assert "n/a" in text[6] and text[-1].startswith("ATTENTION: 1 message(s) in the DLQ")
    data = json.loads(status.render_json(report))
    assert data["dlq_depth"] == 1 and data["exit_code"] == 1 and data["oldest_age_s"] is None


def test_all_well_exits_zero(fleet: dict[str, Any]) -> None:
    fleet["sqs"].purge_queue(QueueUrl=fleet["dlq"])
    report = collect(fleet)
    assert report.attention == [] and report.exit_code == 0
    assert status.render_text(report).endswith("OK")


def test_old_message_and_no_healthy_instance_need_attention(fleet: dict[str, Any]) -> None:
    fleet["sqs"].purge_queue(QueueUrl=fleet["dlq"])
    fleet["autoscaling"].update_auto_scaling_group(AutoScalingGroupName=ASG, MinSize=0, DesiredCapacity=0)
    put_age(fleet["cloudwatch"], 4000.0)
    report = collect(fleet, max_age_s=1800)
    assert report.running == 0 and report.visible == 2
    assert report.attention == ["no healthy instance", "oldest message is 4000 s old (limit 1800 s)"]


def test_failed_scaling_activities_of_the_last_day(make_client: Any) -> None:
    autoscaling = make_client("autoscaling")
    now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def activity(hours_ago: int, code: str) -> dict[str, Any]:
        return {
            "ActivityId": f"a{hours_ago}",
            "AutoScalingGroupName": ASG,
            "Cause": "c",
            "StartTime": now - timedelta(hours=hours_ago),
            "StatusCode": code,
            "StatusMessage": f"{code} {hours_ago}h ago",
        }

    stub = Stubber(autoscaling)
    stub.add_response(
        "describe_scaling_activities",
        {
            "Activities": [
                activity(1, "Failed"),
                activity(2, "Successful"),
                activity(3, "Cancelled"),
                activity(30, "Failed"),
            ]
        },
        {"AutoScalingGroupName": ASG},
    )
    stub.activate()
    failed = status.failed_activities(autoscaling, ASG, now, timedelta(days=1))
    assert [f["cause"] for f in failed] == ["Failed 1h ago", "Cancelled 3h ago"]


def test_cli_status_json_and_exit_code(
    fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    env_file = tmp_path / "env"
    env_file.write_text(f"OCR_QUEUE_URL={fleet['queue']}\nOCR_ASG_NAME={ASG}\n")
    monkeypatch.delenv("OCR_QUEUE_URL", raising=False)
    monkeypatch.delenv("OCR_DLQ_URL", raising=False)
    monkeypatch.delenv("OCR_ASG_NAME", raising=False)
    assert main(["--env-file", str(env_file), "status", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["dlq_depth"] == 1


def test_cli_status_without_queue_is_a_config_error(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("OCR_INDEX=documents\n")
    monkeypatch.delenv("OCR_QUEUE_URL", raising=False)
    assert main(["--env-file", str(env_file), "status"]) == 2
