"""``node-drain`` on a worker node: the shared fake IMDSv2 (``imds``, token required) whose target
lifecycle state turns ``Terminated``; the hook's calls checked by botocore's Stubber against the API model."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.fleet.imds import target_lifecycle_state
from pipeline.fleet.lifecycle import TerminationHook
from pipeline.fleet.nodedrain import watch

INSTANCE = "i-0123456789abcdef0"


@pytest.fixture
def imds_server(imds) -> Iterator[str]:
    """The shared fake IMDSv2, its target lifecycle state turning ``Terminated`` on the third read."""
    imds.metadata = {"autoscaling/target-lifecycle-state": ["InService", "InService", "Terminated"]}
    yield imds.url
    imds.metadata = {}


def test_terminated_node_heartbeats_stops_ray_then_completes(imds_server) -> None:
    client = boto3.client("autoscaling", region_name="ap-northeast-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    calls: list[str] = []
    common = {"AutoScalingGroupName": "asg", "LifecycleHookName": "drain", "InstanceId": INSTANCE}
    with Stubber(client) as stub:
        stub.add_response("record_lifecycle_action_heartbeat", {}, common)
        stub.add_response("complete_lifecycle_action", {}, {**common, "LifecycleActionResult": "CONTINUE"})
        hook = TerminationHook(client, "asg", "drain", INSTANCE)
        original = hook.complete
        hook.complete = lambda: (calls.append("complete"), original())[1]

        state = watch(lambda: target_lifecycle_state(imds_server), hook, lambda: calls.append("stop"), poll_s=0,
                      sleep=lambda s: calls.append("poll"), drain=lambda heartbeat: calls.append("drain") or True)

        stub.assert_no_pending_responses()
    assert state == "Terminated"
    assert calls == ["poll", "poll", "drain", "stop", "complete"]


def test_an_unreadable_imds_keeps_watching() -> None:
    answers = iter([OSError("timed out"), "InService", "Terminated"])

    def read() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    class Hook:
        instance = INSTANCE

        def __init__(self) -> None:
            self.done: list[str] = []

        def heartbeat_if_due(self) -> None:
            self.done.append("heartbeat")

        def complete(self) -> None:
            self.done.append("complete")

    hook = Hook()
    assert watch(read, hook, lambda: hook.done.append("stop"), poll_s=0, sleep=lambda s: None) == "Terminated"
    assert hook.done == ["heartbeat", "stop", "complete"]
