"""``node-drain`` on a worker node: a fake IMDSv2 (token required) whose target lifecycle state
turns ``Terminated``; the hook's calls checked by botocore's Stubber against the API model."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.fleet.imds import target_lifecycle_state
from pipeline.fleet.lifecycle import TerminationHook
from pipeline.fleet.nodedrain import watch

INSTANCE = "i-0123456789abcdef0"


@pytest.fixture
def imds_server():
    states = ["InService", "InService", "Terminated"]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_PUT(self) -> None:
            self._send(200, b"token-1")

        def do_GET(self) -> None:
            if self.headers.get("X-aws-ec2-metadata-token") != "token-1":
                self._send(401, b"")
            elif self.path.endswith("/autoscaling/target-lifecycle-state"):
                self._send(200, (states.pop(0) if len(states) > 1 else states[0]).encode())
            else:
                self._send(404, b"")

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


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
