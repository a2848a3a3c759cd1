"""The scaling signal's arithmetic, and the termination lifecycle hook's calls (botocore Stubber:
moto 5.2 has neither record_lifecycle_action_heartbeat nor complete_lifecycle_action; the
Stubber checks each call's parameters against the API model)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.fleet.lifecycle import TerminationHook
from pipeline.fleet.scaling import Backlog, metric_data


def test_backlog_per_instance_and_time_to_clear() -> None:
    b = Backlog(visible=120, in_service=4, pages_per_message=2.5, seconds_per_page=2.0, cores_per_instance=8)
    assert b.per_instance() == 30
    assert b.seconds_to_clear() == pytest.approx(120 * 2.5 * 2.0 / 32)


def test_an_empty_group_still_reports_the_whole_backlog() -> None:
    b = Backlog(visible=50, in_service=0, pages_per_message=1, seconds_per_page=2)
    assert b.per_instance() == 50 and b.seconds_to_clear() == 100


def test_metric_data_names_and_dimension() -> None:
    data = metric_data(Backlog(10, 2, 1, 2), "cis-filesearch-worker-asg")
    assert [d["MetricName"] for d in data] == ["BacklogPerInstance", "PageWeightedBacklogSeconds"]
    assert {d["Dimensions"][0]["Value"] for d in data} == {"cis-filesearch-worker-asg"}


@pytest.fixture
def autoscaling():
    client = boto3.client("autoscaling", region_name="ap-northeast-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_hook_heartbeats_while_draining_and_completes_with_continue(autoscaling) -> None:
    client, stub = autoscaling
    common = {"AutoScalingGroupName": "asg", "LifecycleHookName": "drain", "InstanceId": "i-0123456789abcdef0"}
    stub.add_response("record_lifecycle_action_heartbeat", {}, common)
    stub.add_response("complete_lifecycle_action", {}, {**common, "LifecycleActionResult": "CONTINUE"})
    hook = TerminationHook(client, "asg", "drain", "i-0123456789abcdef0", every_s=60)
    hook.heartbeat_if_due()
    hook.heartbeat_if_due()  # within every_s: no second call (the Stubber would refuse it)
    hook.complete()


def test_hook_errors_never_stop_the_drain(autoscaling) -> None:
    client, stub = autoscaling
    stub.add_client_error("complete_lifecycle_action", "ValidationError", "No active Lifecycle Action found")
    TerminationHook(client, "asg", "drain", "i-0123456789abcdef0").complete()


def test_the_hook_is_answered_only_by_an_instance_in_a_group(imds, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Ray head runs the stream with the group's name and hook in its env file (for the
    scaling metric) but is in no group: IMDS has no target lifecycle state for it, and it
    answers no hook (its heartbeats would be refused); a group's instance does."""
    from pipeline.settings import Settings

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    settings = Settings(asg_name="cis-filesearch-worker-asg", lifecycle_hook="file-processor-drain")
    imds.metadata = {"instance-id": "i-0head"}
    assert TerminationHook.for_this_instance(settings, imds.url) is None
    imds.metadata = {"instance-id": "i-0worker", "autoscaling/target-lifecycle-state": "InService"}
    hook = TerminationHook.for_this_instance(settings, imds.url)
    assert hook is not None and (hook.instance, hook.asg, hook.hook) == (
        "i-0worker", "cis-filesearch-worker-asg", "file-processor-drain")
