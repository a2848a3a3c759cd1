"""``ocr-cluster validate`` on the local stack: a line per check, exit 1 on any failure."""

from __future__ import annotations

import pytest

from pipeline.ops.validate import run_checks

pytestmark = [pytest.mark.stack, pytest.mark.tesseract]


def test_all_checks_pass_on_the_local_stack(settings, capsys, monkeypatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert run_checks(settings) == 0
    out = capsys.readouterr().out
    for name in ("language-data", "engine", "thread-budget", "queue", "opensearch", "ray"):
        assert f"OK    {name} " in out
    assert "maxReceiveCount=3" in out and f"index {settings.index!r} writable" in out


def test_a_queue_without_a_redrive_policy_fails(settings, sqs, capsys) -> None:
    bare = sqs.create_queue(QueueName="no-redrive")["QueueUrl"]
    assert run_checks(settings.model_copy(update={"queue_url": bare, "dlq_url": ""})) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("FAIL  queue "))
    assert "ConfigError: the queue" in line and "has no redrive policy" in line


def test_offline_checks_need_no_network(capsys) -> None:
    from pipeline.settings import Settings

    assert run_checks(Settings(queue_url="", opensearch_url="http://127.0.0.1:9"), offline=True) == 0
    assert "queue" not in capsys.readouterr().out


def test_missing_language_data_fails(capsys) -> None:
    from pipeline.settings import Settings

    assert run_checks(Settings(languages="jpn+xyz"), offline=True) == 1
    assert "tesseract-ocr-xyz" in capsys.readouterr().out


def test_the_scaling_metrics_reach_cloudwatch(settings, resources, sqs) -> None:
    import time

    import boto3

    from pipeline.fleet.scaling import BacklogPublisher, ServiceReading
    from pipeline.sources.sqs import SqsQueue

    for i in range(6):
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=f'{{"bucket": "b", "key": "{i}"}}')
    reading = ServiceReading(visible=SqsQueue(sqs, resources.queue_url).depth()["visible"], workers=2, pages=30,
                             uptime_s=10.0, dead_lettered=2, recent=[(3, 6.0)])
    cloudwatch = boto3.client("cloudwatch")
    BacklogPublisher(cloudwatch, boto3.client("autoscaling"), "OcrClusterTest", "").publish(reading)
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="OcrClusterTest")["Metrics"]}
    assert names == {"BacklogPerInstance", "PageWeightedBacklogSeconds", "PagesPerSecond", "DocumentsFailed"}
    stats = cloudwatch.get_metric_statistics(
        Namespace="OcrClusterTest", MetricName="PageWeightedBacklogSeconds", Statistics=["Maximum"], Period=60,
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": "local"}],
        StartTime=time.time() - 600, EndTime=time.time() + 600,
    )["Datapoints"]
    visible = reading.visible  # ours and moto's s3:TestEvent
    assert visible >= 6
    assert stats[0]["Maximum"] == pytest.approx(visible * 3 * 2.0 / 2)  # x 3 pages x 2 s a page / 2 cores
