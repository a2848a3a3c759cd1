"""Every command under the role that runs it in production, on moto with IAM enforcement on.

The policies are the JSON templates Terraform renders (``templatefile()``), rendered here with
the variables modules iam and operator pass them (their ``local.policy_vars``, evaluated on the
example and its tfvars), the ARNs of the resources created on moto standing in for AWS's.
moto checks a request's action against the caller's policies, and its resource too for SQS
(queue ARN) and S3 (bucket/key ARN); it evaluates no
condition and knows no other resource. So each statement is given to moto as written for SQS
and S3 resources and with ``*`` otherwise, without its conditions (those are asserted on the
JSON by tests/infra/test_terraform.py), and an SQS action covers its ``*Batch`` call as it does
on AWS. A call the role does not allow fails with moto's AccessDenied, which names the action.
Calls moto lacks (StartInstanceRefresh, the lifecycle actions, StartMessageMoveTask) go through
botocore's Stubber, and their actions are looked up in the rendered JSON.

Enforcement is server-wide (moto's ``INITIAL_NO_AUTH_ACTION_COUNT``), so these tests run on
the resettable moto server (``moto_endpoint``, tests/conftest.py says why it is not the stack's):
each test resets it, sets up with enforcement off (``/moto-api/reset-auth``), then turns it on;
the next test's reset turns it off again.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from pipeline import cli
from pipeline.batch.reprocess import held, start_move_task
from pipeline.devstack.stack import REGION
from pipeline.errors import ConfigError
from pipeline.fleet.lifecycle import TerminationHook
from pipeline.fleet.scaling import BacklogPublisher, ServiceReading
from pipeline.models import Failure, Job
from pipeline.ops import ami, doctor, smoke
from pipeline.sources.fetch import fetch_object
from pipeline.sources.listing import bucket_versioned, list_jobs
from pipeline.sources.sqs import SqsQueue
from pipeline.stream import ledger
from tests.helpers import moto_post

REPO = Path(__file__).resolve().parents[2]
POLICIES = {
    "data-plane": REPO / "terraform/modules/iam/policies/data-plane.json.tftpl",
    "lifecycle": REPO / "terraform/modules/iam/policies/lifecycle.json.tftpl",
    "head-address": REPO / "terraform/modules/iam/policies/head-address.json.tftpl",
    "operator": REPO / "terraform/modules/operator/policies/operator.json.tftpl",
    "kms-data": REPO / "terraform/modules/iam/policies/kms-data.json.tftpl",
}
ROLES = {  # the policies attached to each role in terraform/modules/iam and modules/operator
    "head": ("data-plane", "head-address"),
    "worker": ("data-plane", "lifecycle"),
    "operator": ("operator",),
}
ACCOUNT = "123456789012"
BUCKET = "cis-filesearch-documents"
PREFIX = "incoming/"
ASG = "cis-filesearch-worker-asg"
TEMPLATE = "python-worker-template-v1"
NAMESPACE = "OcrCluster"
SSM_PREFIX = "/file-processor/prod"
MOTO_RESOURCES = ("arn:aws:sqs:", "arn:aws:s3:::")
SQS_BATCH = {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:SendMessage"}
# moto names CloudWatch's actions after its endpoint (monitoring:PutMetricData): aliased.
# SQS calls moto authorizes against "*" (it takes the queue from QueueUrl only; these name it
# otherwise): given to moto on "*"; their resources are checked on the JSON with allows().
MOTO_UNSCOPED = {"sqs:GetQueueUrl", "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks",
                 "sqs:CancelMessageMoveTask"}


# --- the policies ---------------------------------------------------------------------------


def render(name: str, values: dict[str, str]) -> dict[str, Any]:
    """A policy template rendered as templatefile() does (every ${name} must have a value)."""
    text = POLICIES[name].read_text()
    missing = set(re.findall(r"\$\{(?:jsonencode\()?(\w+)\)?\}", text)) - set(values)
    assert not missing, f"{name}: no value for {missing}"
    text = re.sub(r"\$\{jsonencode\((\w+)\)\}", lambda m: json.dumps(values[m.group(1)]), text)
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text))


def moto_view(policy: dict[str, Any]) -> dict[str, Any]:
    """What moto can enforce of a policy (see the module docstring)."""
    statements = []
    for statement in policy["Statement"]:
        actions = list(statement["Action"])
        actions += [f"{a}Batch" for a in actions if a in SQS_BATCH]
        actions += [a.replace("cloudwatch:", "monitoring:") for a in actions if a.startswith("cloudwatch:")]
        resources = statement["Resource"]
        keep = all(r.startswith(MOTO_RESOURCES) for r in resources)
        unscoped = [a for a in actions if a in MOTO_UNSCOPED]
        scoped = [a for a in actions if a not in MOTO_UNSCOPED]
        if scoped:
            statements.append({"Effect": statement["Effect"], "Action": scoped, "Resource": resources if keep else "*"})
        if unscoped:
            statements.append({"Effect": statement["Effect"], "Action": unscoped, "Resource": "*"})
    return {"Version": policy["Version"], "Statement": statements}


def allows(policy: dict[str, Any], action: str, resource: str = "*") -> bool:
    """Whether a statement of ``policy`` allows ``action`` on ``resource`` (wildcards as IAM)."""
    def match(pattern: str, value: str) -> bool:
        return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), value) is not None

    return any(
        action in s["Action"] and any(match(r, resource) for r in s["Resource"]) for s in policy["Statement"]
    )


# --- the enforcing server -------------------------------------------------------------------


@pytest.fixture
def iam_moto(moto_endpoint: str) -> str:
    """The resettable moto server; each test's ``build_fleet`` resets it and turns enforcement on."""
    return moto_endpoint





@dataclass
class Fleet:
    """The account on moto: resources, rendered policies, and one IAM user per role."""

    url: str
    queue_url: str
    dlq_url: str
    values: dict[str, str]
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def client(self, role: str, service: str) -> Any:
        """A boto3 client signed with the role's keys."""
        key, secret = self.keys[role]
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def policy(self, role: str) -> dict[str, Any]:
        """The role's statements, all its policies together."""
        statements = [s for name in ROLES[role] for s in self.policies[name]["Statement"]]
        return {"Version": "2012-10-17", "Statement": statements}


def _admin(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _resources(url: str) -> tuple[str, str, str]:
    """Bucket, queue with its DLQ, launch template, group, an image; returns queue, DLQ, template ARN."""
    sqs, s3, ec2 = _admin(url, "sqs"), _admin(url, "s3"), _admin(url, "ec2")
    s3.create_bucket(Bucket=BUCKET)  # REGION is us-east-1, which takes no LocationConstraint
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}a.png", Body=smoke.smoke_png())
    dlq_url = sqs.create_queue(QueueName="file-processing-queue-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    queue_url = sqs.create_queue(QueueName="file-processing-queue", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    image = ec2.register_image(Name="python-worker-v20240101-000000", RootDeviceName="/dev/xvda")["ImageId"]
    newer = ec2.register_image(Name="python-worker-v20240201-000000", RootDeviceName="/dev/xvda")["ImageId"]
    ec2.create_tags(Resources=[image, newer], Tags=[{"Key": "Application", "Value": "file-processor"}])
    template = ec2.create_launch_template(LaunchTemplateName=TEMPLATE,
                                          LaunchTemplateData={"ImageId": image, "InstanceType": "c7i.2xlarge"})
    autoscaling = _admin(url, "autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=ASG, MinSize=0, MaxSize=2, DesiredCapacity=0, AvailabilityZones=[f"{REGION}a"],
        LaunchTemplate={"LaunchTemplateName": TEMPLATE, "Version": "$Default"})
    _admin(url, "ssm").put_parameter(Name=f"{SSM_PREFIX}/config/OCR_INDEX", Value="documents", Type="String")
    _admin(url, "ssm").put_parameter(Name=f"{SSM_PREFIX}/ray-auth-token", Value="t0ken", Type="SecureString")
    lt_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/{template['LaunchTemplate']['LaunchTemplateId']}"
    return queue_url, dlq_url, lt_arn


def _values(queue_url: str, dlq_url: str, lt_arn: str) -> dict[str, str]:
    """The templates' variables as modules iam and operator compute them (``local.policy_vars``
    of each, evaluated by tests/infra/tfrender on the example called with its tfvars), given what
    AWS computes: this account and region, and the ARNs of what was created on moto."""
    from tests.infra import tfrender

    example = REPO / "terraform/examples/complete"
    account = {"data.aws_partition.current.partition": "aws", "data.aws_region.current.name": REGION,
               "data.aws_caller_identity.current.account_id": ACCOUNT}
    root = tfrender.root(example, tfrender.load(example / "terraform.tfvars.example"))
    sqs = f"arn:aws:sqs:{REGION}:{ACCOUNT}"
    root.child("queue").computed = {"aws_sqs_queue.this.arn": f"{sqs}:{queue_url.rsplit('/', 1)[-1]}",
                                    "aws_sqs_queue.dlq.arn": f"{sqs}:{dlq_url.rsplit('/', 1)[-1]}"}
    observability = root.child("observability")
    group = observability.reference("aws_cloudwatch_log_group.nodes.name")
    observability.computed = {"aws_cloudwatch_log_group.nodes.arn":
                              f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}
    root.child("workers").computed = {"aws_launch_template.this.arn": lt_arn}
    iam = root.child("iam")
    role = iam.reference("aws_iam_role.worker.name")
    iam.computed = {**account, "aws_iam_role.worker.arn": f"arn:aws:iam::{ACCOUNT}:role/{role}"}
    root.child("operator").computed = dict(account)
    nodes, operator = iam.reference("local.policy_vars"), root.child("operator").reference("local.policy_vars")
    shared = set(nodes) & set(operator)
    assert {k: nodes[k] for k in shared} == {k: operator[k] for k in shared}, "modules iam and operator disagree"
    values = {**nodes, **operator}
    assert (values["source_bucket"], values["source_prefix"], values["ssm_arn"].split(":parameter")[1]) == (
        BUCKET, PREFIX, SSM_PREFIX), "the tfvars' names, which the resources here are created with"
    assert values["asg_arn"].endswith(f"/{ASG}") and values["metrics_namespace"] == NAMESPACE
    return values


def build_fleet(url: str, edit: Callable[[str, dict[str, Any]], None] = lambda name, policy: None) -> Fleet:
    """Reset moto, create the account's resources and role users, then turn enforcement on."""
    moto_post(f"{url}/moto-api/reset")
    moto_post(f"{url}/moto-api/reset-auth", b"inf")
    queue_url, dlq_url, lt_arn = _resources(url)
    fleet = Fleet(url, queue_url, dlq_url, _values(queue_url, dlq_url, lt_arn))
    iam = _admin(url, "iam")
    for name in sorted({n for names in ROLES.values() for n in names}):  # kms-data: only with a key
        fleet.policies[name] = render(name, fleet.values)
        edit(name, fleet.policies[name])
    for role, names in ROLES.items():
        iam.create_user(UserName=role)
        for name in names:
            document = json.dumps(moto_view(fleet.policies[name]))
            iam.put_user_policy(UserName=role, PolicyName=name, PolicyDocument=document)
        key = iam.create_access_key(UserName=role)["AccessKey"]
        fleet.keys[role] = (key["AccessKeyId"], key["SecretAccessKey"])
    iam.create_user(UserName="feeder")  # stands in for S3's notifications; no role of ours
    iam.put_user_policy(UserName="feeder", PolicyName="send", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="feeder")["AccessKey"]
    fleet.keys["feeder"] = (key["AccessKeyId"], key["SecretAccessKey"])
    moto_post(f"{url}/moto-api/reset-auth", b"0")
    return fleet


@pytest.fixture
def fleet(iam_moto: str, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """The account, enforcement on; the standard variables point boto3 (and the CLI) at it."""
    for name, value in {"AWS_ENDPOINT_URL": iam_moto, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "OCR_QUEUE_URL", "OCR_DLQ_URL", "OCR_ASG_NAME"):
        monkeypatch.delenv(name, raising=False)
    return build_fleet(iam_moto)


@contextmanager
def as_role(fleet: Fleet, role: str, monkeypatch: pytest.MonkeyPatch, **settings: str) -> Iterator[None]:
    """The process's credentials are the role's (commands build their own clients)."""
    key, secret = fleet.keys[role]
    with monkeypatch.context() as patch:
        patch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the first credentials it resolved
        patch.setenv("AWS_ACCESS_KEY_ID", key)
        patch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        for name, value in settings.items():
            patch.setenv(name, value)
        yield


def send(fleet: Fleet, url: str, body: str, **attributes: str) -> None:
    """A message from outside the roles (S3's notification, an earlier dead-lettering): the feeder."""
    attrs = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
    fleet.client("feeder", "sqs").send_message(QueueUrl=url, MessageBody=body,
                                               **({"MessageAttributes": attrs} if attrs else {}))


# --- node roles -----------------------------------------------------------------------------


def _job(key: str) -> str:
    return json.dumps({"bucket": BUCKET, "key": key})


def test_stream_service_calls_under_the_head_role(fleet: Fleet) -> None:
    """Receive, fetch, heartbeat, release, delete, dead-letter, backlog metrics: the head runs the stream."""
    send(fleet, fleet.queue_url, _job(f"{PREFIX}a.png"))
    send(fleet, fleet.queue_url, _job(f"{PREFIX}b.png"))
    send(fleet, fleet.queue_url, _job(f"{PREFIX}c.png"))
    sqs, s3 = fleet.client("head", "sqs"), fleet.client("head", "s3")
    queue = SqsQueue(sqs, fleet.queue_url)
    assert queue.max_receive_count == 5 and queue.dlq_url == fleet.dlq_url
    messages = queue.receive(10, wait_s=0, visibility_s=60)
    assert len(messages) == 3
    queue.extend(messages, 120)
    queue.release(messages[2], 0)
    failure = Failure(BUCKET, f"{PREFIX}b.png", None, "CorruptDocument", "not an image", False)
    settled = ledger.settle_all(queue, [ledger.MessageOutcome(messages[0], [], 1),
                                        ledger.MessageOutcome(messages[1], [failure], 0)])
    assert [result for _, result in settled] == [ledger.INDEXED, ledger.DEAD_LETTERED]
    assert queue.depth()["visible"] == 1
    assert fetch_object(s3, Job(BUCKET, f"{PREFIX}a.png"), 10_000_000).data.startswith(b"\x89PNG")
    reading = ServiceReading(visible=queue.depth()["visible"], workers=2, pages=0, uptime_s=1.0, dead_lettered=0)
    BacklogPublisher(fleet.client("head", "cloudwatch"), fleet.client("head", "autoscaling"), NAMESPACE, ASG,
                     every_s=0).publish(reading)


def test_node_bootstrap_parameters_under_the_node_roles(fleet: Fleet) -> None:
    for role in ("head", "worker"):
        ssm = fleet.client(role, "ssm")
        listing = ssm.get_parameters_by_path(Path=f"{SSM_PREFIX}/config/", WithDecryption=True)["Parameters"]
        assert [p["Name"] for p in listing] == [f"{SSM_PREFIX}/config/OCR_INDEX"]
    fleet.client("head", "ssm").put_parameter(Name=f"{SSM_PREFIX}/ray-head-address", Value="10.0.0.1:6379",
                                              Type="String", Overwrite=True)
    assert fleet.client("worker", "ssm").get_parameter(Name=f"{SSM_PREFIX}/ray-head-address")["Parameter"]["Value"]
    with pytest.raises(ClientError, match="AccessDenied"):
        fleet.client("worker", "ssm").put_parameter(Name=f"{SSM_PREFIX}/ray-head-address", Value="x",
                                                    Type="String", Overwrite=True)


def test_doctor_and_validate_read_the_queue_and_dlq_under_the_node_role(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    send(fleet, fleet.dlq_url, _job(f"{PREFIX}x.png"), ErrorClass="CorruptDocument")
    with as_role(fleet, "worker", monkeypatch, OCR_QUEUE_URL=fleet.queue_url, OCR_DLQ_URL=fleet.dlq_url):
        settings = doctor.check_settings(None)[1]
        check = doctor.check_queue(settings, timeout_s=5)  # validate runs the same check (ops/checks.py)
        assert check.status == doctor.WARN and "dlq=1" in check.detail, check.detail
        assert check.data["dlq_url"] == fleet.dlq_url and check.data["queue"]["visible"] == 0


def test_node_drain_lifecycle_actions_are_the_worker_roles(fleet: Fleet) -> None:
    """moto has no lifecycle actions: the calls go through the Stubber, the actions are looked up."""
    autoscaling = fleet.client("worker", "autoscaling")
    common = {"AutoScalingGroupName": ASG, "LifecycleHookName": "file-processor-drain", "InstanceId": "i-0abc"}
    stub = Stubber(autoscaling)
    stub.add_response("record_lifecycle_action_heartbeat", {}, common)
    stub.add_response("complete_lifecycle_action", {}, {**common, "LifecycleActionResult": "CONTINUE"})
    with stub:
        hook = TerminationHook(autoscaling, ASG, "file-processor-drain", "i-0abc", every_s=0)
        hook.heartbeat_if_due()
        hook.complete()
    stub.assert_no_pending_responses()
    group = f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:uuid-1:autoScalingGroupName/{ASG}"
    for action in ("autoscaling:RecordLifecycleActionHeartbeat", "autoscaling:CompleteLifecycleAction"):
        assert allows(fleet.policy("worker"), action, group), action
        assert not allows(fleet.policy("head"), action, group), "only workers answer the hook"


# --- the operator role ----------------------------------------------------------------------


def test_status_under_the_operator_role(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with as_role(fleet, "operator", monkeypatch, OCR_QUEUE_URL=fleet.queue_url, OCR_ASG_NAME=ASG):
        code = cli.main(["status", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["dlq_url"] == fleet.dlq_url, report


def test_dlq_inspect_and_redrive_under_the_operator_role(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    send(fleet, fleet.dlq_url, _job(f"{PREFIX}1.png"), ErrorClass="StorageUnavailable")
    send(fleet, fleet.dlq_url, _job(f"{PREFIX}2.png"), ErrorClass="CorruptDocument")
    with as_role(fleet, "operator", monkeypatch, OCR_QUEUE_URL=fleet.queue_url, OCR_DLQ_URL=fleet.dlq_url):
        assert cli.main(["dlq", "inspect", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["counts"] == {"StorageUnavailable": 1, "CorruptDocument": 1}
        assert cli.main(["dlq", "redrive", "--error-class", "StorageUnavailable", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"method": "copy", "moved": 1, "left": 1, "task_handle": ""}
        assert cli.main(["dlq", "redrive", "--json"]) == 0  # no move task on moto: copied, each allowed
        assert json.loads(capsys.readouterr().out)["moved"] == 1
    assert SqsQueue(fleet.client("operator", "sqs"), fleet.queue_url).depth()["visible"] == 2


def test_redrive_move_task_is_the_operators(fleet: Fleet) -> None:
    sqs = fleet.client("operator", "sqs")
    stub = Stubber(sqs)
    for url in (fleet.dlq_url, fleet.queue_url):
        arn = fleet.values["dlq_arn" if url == fleet.dlq_url else "queue_arn"]
        stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": arn}},
                          {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
    stub.add_response("start_message_move_task", {"TaskHandle": "t-1"},
                      {"SourceArn": fleet.values["dlq_arn"], "DestinationArn": fleet.values["queue_arn"]})
    with stub:
        assert start_move_task(sqs, fleet.dlq_url, fleet.queue_url) == "t-1"
    assert allows(fleet.policy("operator"), "sqs:StartMessageMoveTask", fleet.values["dlq_arn"])
    assert not allows(fleet.policy("head"), "sqs:StartMessageMoveTask", fleet.values["dlq_arn"])


def test_dlq_reprocess_queue_calls_under_the_operator_role(fleet: Fleet) -> None:
    """reprocess holds the DLQ's messages (heartbeat), deletes successes, re-sends failures to the DLQ."""
    for n in range(3):
        send(fleet, fleet.dlq_url, _job(f"{PREFIX}{n}.png"), ErrorClass="StorageUnavailable")
    dlq = SqsQueue(fleet.client("operator", "sqs"), fleet.dlq_url, fleet.dlq_url)
    messages = dlq.receive_all(60)
    assert len(messages) == 3
    with held(dlq, messages, 3):
        time.sleep(1.2)  # one heartbeat (ChangeMessageVisibilityBatch) on the DLQ
    dlq.delete(messages[0])
    dlq.dead_letter(messages[1], "CorruptDocument", "reprocessed: still broken")
    dlq.release(messages[2])
    assert dlq.depth()["visible"] == 2


def test_backfill_and_reprocess_reads_under_the_operator_role(fleet: Fleet) -> None:
    s3 = fleet.client("operator", "s3")
    (job,) = list_jobs(s3, f"s3://{BUCKET}/{PREFIX}")
    assert bucket_versioned(s3, BUCKET) is False
    assert fetch_object(s3, job, 10_000_000).data.startswith(b"\x89PNG")


def test_smoke_object_under_the_notified_prefix_only(fleet: Fleet) -> None:
    s3 = fleet.client("operator", "s3")
    key = smoke.smoke_key(fleet.values["smoke_prefix"])
    assert key.startswith(PREFIX), "the notification announces only the source prefix"
    s3.put_object(Bucket=BUCKET, Key=key, Body=smoke.smoke_png())
    s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.put_object(Bucket=BUCKET, Key=smoke.smoke_key("smoke/"), Body=b"x")


def test_a_backfill_driver_gets_the_ray_token_under_the_operator_role(fleet: Fleet) -> None:
    """`ocr-cluster backfill --address` (or `ray job submit`) from the operator's shell must carry
    the cluster's token (Ray's token authentication), which lives in SSM: the token, nothing else."""
    ssm = fleet.client("operator", "ssm")
    token = ssm.get_parameter(Name=f"{SSM_PREFIX}/ray-auth-token", WithDecryption=True)["Parameter"]["Value"]
    assert token == "t0ken"
    operator = fleet.policy("operator")
    assert allows(operator, "ssm:GetParameter", f"{fleet.values['ssm_arn']}/ray-auth-token")
    assert not allows(operator, "ssm:GetParameter", f"{fleet.values['ssm_arn']}/config/OCR_INDEX")
    assert not allows(operator, "ssm:PutParameter", f"{fleet.values['ssm_arn']}/ray-auth-token")


def test_ami_deploy_and_prune_under_the_operator_role(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    ec2, autoscaling = fleet.client("operator", "ec2"), fleet.client("operator", "autoscaling")
    (image,) = [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]
                if i["Name"] == "python-worker-v20240201-000000"]
    stub = Stubber(autoscaling)
    stub.add_response("start_instance_refresh", {"InstanceRefreshId": "r-1"})
    stub.add_response("describe_instance_refreshes",
                      {"InstanceRefreshes": [{"InstanceRefreshId": "r-1", "Status": "Successful"}]})
    with stub:
        result = ami.deploy(ec2, autoscaling, image, template=TEMPLATE, asg=ASG, poll_s=0)
    assert result.status == "Successful"
    for action in ("autoscaling:StartInstanceRefresh", "autoscaling:DescribeInstanceRefreshes"):
        group = fleet.values["asg_arn"].replace("*", "uuid-1")
        assert allows(fleet.policy("operator"), action, group), action
    # A refresh to a template version (DesiredConfiguration) is authorised as the caller's use of
    # that template: "You are not authorized to use launch template" without RunInstances through
    # it, PassRole of its instance profile's role, and CreateTags for its tag specifications.
    operator = fleet.policy("operator")
    template = fleet.values["launch_template_arn"]
    run = [s for s in operator["Statement"] if "ec2:RunInstances" in s["Action"]]
    assert run and all(s["Condition"] == {"ArnEquals": {"ec2:LaunchTemplate": [template]}} for s in run), run
    assert allows(operator, "iam:PassRole", fleet.values["worker_role_arn"])
    tags = [s for s in operator["Statement"] if "ec2:CreateTags" in s["Action"]]
    assert tags and all(s["Condition"] == {"StringEquals": {"ec2:CreateAction": ["RunInstances"]}} for s in tags)
    ami.prune(ec2, keep=1, dry_run=False, report=lambda line: None)
    with pytest.raises(ConfigError):
        ami.check_image(ec2, "ami-00000000000000000")


# --- the tests can fail ---------------------------------------------------------------------


def test_a_missing_action_fails_naming_it(iam_moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ChangeMessageVisibility on the DLQ (the finding), `dlq inspect` is refused by name."""
    def drop(name: str, policy: dict[str, Any]) -> None:
        if name == "operator":
            for statement in policy["Statement"]:
                statement["Action"] = [a for a in statement["Action"] if a != "sqs:ChangeMessageVisibility"]

    for name, value in {"AWS_ENDPOINT_URL": iam_moto, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    fleet = build_fleet(iam_moto, drop)
    send(fleet, fleet.dlq_url, _job(f"{PREFIX}1.png"))
    refused = pytest.raises(ClientError, match="not authorized to perform: sqs:ChangeMessageVisibility")
    with as_role(fleet, "operator", monkeypatch, OCR_QUEUE_URL=fleet.queue_url, OCR_DLQ_URL=fleet.dlq_url), refused:
        cli.main(["dlq", "inspect"])


# --- OpenSearch: each request the code sends, against the rendered policies -------------------
#
# moto has no OpenSearch. Amazon OpenSearch Service authorises a signed request as the action
# es:ESHttp<Method> on the domain's ARN followed by the request's path (so POST /_bulk is
# "<domain>/_bulk", POST /documents/_bulk "<domain>/documents/_bulk"). The requests are the ones
# opensearch-py really sends to osmem-server, recorded at its transport.

@pytest.fixture
def sent_to_opensearch(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(method, path) of every request opensearch-py sends from now on, in order."""
    from opensearchpy.transport import Transport

    sent: list[tuple[str, str]] = []
    original = Transport.perform_request

    def record(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((method, url.split("?", 1)[0]))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(Transport, "perform_request", record)
    return sent


def opensearch_refusals(role: str, index: str, sent: list[tuple[str, str]]) -> list[str]:
    """The requests the role's rendered policies do not allow, as 'ACTION RESOURCE'."""
    values = {**_values("https://q/file-processing-queue", "https://q/file-processing-queue-dlq",
                        f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/lt-1"), "opensearch_index": index}
    policies = {name: render(name, values) for name in ROLES[role]}
    policy = {"Statement": [s for p in policies.values() for s in p["Statement"]]}
    domain = values["opensearch_domain_arn"]
    wanted = {(f"es:ESHttp{method.capitalize()}", f"{domain}{path}") for method, path in sent}
    return sorted(f"{action} {resource}" for action, resource in wanted if not allows(policy, action, resource))


def test_the_services_opensearch_requests_are_allowed_by_the_node_roles(
    settings: Any, sent_to_opensearch: list[tuple[str, str]]
) -> None:
    """What the stream and a backfill send from a node: the index made or its fields added, bulk
    writes, the prior-reading lookup, the lookup of versions already indexed."""
    from pipeline.sinks.opensearch import BulkWriter, OpenSearchReadings, ensure_index, make_client, split_existing

    client = make_client(settings)
    assert ensure_index(client, settings.index) and not ensure_index(client, settings.index)
    written = BulkWriter(client, settings.index, retries=0).write([("doc-1", {"key": "a.png", "bucket": BUCKET})])
    assert written["doc-1"].ok, written["doc-1"].reason
    OpenSearchReadings(client, settings.index).find("0" * 64, "stamp", "doc-2")
    split_existing(client, settings.index, [Job(BUCKET, f"{PREFIX}a.png")])
    assert {method for method, _ in sent_to_opensearch} == {"HEAD", "PUT", "POST"}
    for role in ("head", "worker"):
        assert opensearch_refusals(role, settings.index, sent_to_opensearch) == [], role


def test_validates_opensearch_check_is_allowed_by_the_node_roles(
    settings: Any, sent_to_opensearch: list[tuple[str, str]]
) -> None:
    """``validate`` and ``doctor`` on a node: the cluster's answer, a probe written and deleted."""
    from pipeline.ops.checks import OK, check_opensearch

    check = check_opensearch(settings, 5.0, write=True)
    assert check.status == OK, check.detail
    assert {method for method, _ in sent_to_opensearch} >= {"GET", "POST", "DELETE"}
    for role in ("head", "worker"):
        assert opensearch_refusals(role, settings.index, sent_to_opensearch) == [], role


def test_the_operators_opensearch_requests_are_allowed_by_its_role(
    settings: Any, sent_to_opensearch: list[tuple[str, str]]
) -> None:
    """reprocess and a backfill run from the operator's shell write and look up as the nodes do."""
    from pipeline.sinks.opensearch import BulkWriter, ensure_index, make_client, split_existing

    client = make_client(settings)
    ensure_index(client, settings.index)
    BulkWriter(client, settings.index, retries=0).write([("doc-1", {"key": "a.png", "bucket": BUCKET})])
    split_existing(client, settings.index, [Job(BUCKET, f"{PREFIX}a.png")])
    assert opensearch_refusals("operator", settings.index, sent_to_opensearch) == []


# --- the CloudWatch agent (cluster/cloudwatch), under the node roles -------------------------


def test_the_cloudwatch_agents_calls_are_allowed_by_the_node_roles() -> None:
    """The agent the image runs under the node's role: its log streams in the log group, its
    metrics in its namespace, and the group's name for ``${aws:AutoScalingGroupName}``, which its
    ec2tagger reads from the instance's aws:autoscaling:groupName tag with ec2:DescribeTags."""
    config = json.loads((REPO / "cluster/cloudwatch/amazon-cloudwatch-agent.json").read_text())
    values = _values("https://q/file-processing-queue", "https://q/file-processing-queue-dlq",
                     f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/lt-1")
    calls: list[tuple[str, str]] = []
    for entry in config["logs"]["logs_collected"]["files"]["collect_list"]:
        group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{entry['log_group_name']}"
        stream = f"{group}:log-stream:{entry['log_stream_name'].replace('{instance_id}', 'i-0abc')}"
        calls += [("logs:CreateLogStream", stream), ("logs:PutLogEvents", stream)]
    assert config["metrics"]["namespace"] == values["agent_namespace"], "the namespace the role allows"
    from tests.infra import tfrender

    example = tfrender.blocks(REPO / "terraform/examples/complete", "module")
    groups = {entry["log_group_name"] for entry in config["logs"]["logs_collected"]["files"]["collect_list"]}
    assert groups == {example["observability"]["log_group_name"]}, "the group Terraform creates"
    iam = tfrender.blocks(REPO / "terraform/modules/iam", "variable")
    assert iam["agent_namespace"]["default"] == config["metrics"]["namespace"]
    calls.append(("cloudwatch:PutMetricData", "*"))
    if "${aws:AutoScalingGroupName}" in json.dumps(config["metrics"]["append_dimensions"]):
        calls.append(("ec2:DescribeTags", "*"))
    for role in ("head", "worker"):
        policy = {"Statement": [s for name in ROLES[role] for s in render(name, values)["Statement"]]}
        refused = [f"{action} {resource}" for action, resource in calls if not allows(policy, action, resource)]
        assert refused == [], role



# --- customer-managed keys (SSE-KMS queues, an SSE-KMS source bucket) --------------------------


def test_a_queue_or_bucket_key_reaches_every_role_that_uses_it() -> None:
    """With module queue's kms_master_key_id set, ReceiveMessage needs kms:Decrypt and SendMessage
    (dead-lettering, redrive) kms:GenerateDataKey on that key, as GetObject of an SSE-KMS object
    needs kms:Decrypt: the example's one key variable goes to the queue and to modules iam and
    operator, whose policy (attached to the head, worker and operator roles) grants both,
    through SQS and S3 only. moto checks no KMS permission: this reads the HCL and the JSON."""
    from tests.infra import tfrender

    example = tfrender.blocks(REPO / "terraform/examples/complete", "module")
    assert example["queue"]["kms_master_key_id"] == "${var.queue_kms_key_arn}"
    keys = tfrender.blocks(REPO / "terraform/examples/complete", "locals")["kms_key_arns"]
    assert keys == "${compact([var.queue_kms_key_arn, var.source_bucket_kms_key_arn])}"
    assert example["iam"]["kms_key_arns"] == example["operator"]["kms_key_arns"] == "${local.kms_key_arns}"
    attached = tfrender.resources(REPO / "terraform/modules/iam", "aws_iam_role_policy_attachment")
    kms_roles = {a["role"] for a in attached.values() if "kms_data" in a["policy_arn"]}
    assert kms_roles == {"${aws_iam_role.worker.name}", "${aws_iam_role.head.name}"}
    operator = tfrender.load(REPO / "terraform/modules/operator/main.tf")["resource"]
    assert any("kms-data.json.tftpl" in json.dumps(b) for b in operator), "the operator role gets the same policy"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    policy = render("kms-data", {"kms_key_arns": [key], "region": REGION})
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert allows(policy, action, key), action
    (statement,) = policy["Statement"]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"sqs.{REGION}.amazonaws.com", f"s3.{REGION}.amazonaws.com"]
