"""``ami deploy`` / rollback / prune against moto (EC2 launch templates, images, snapshots,
instances); the instance refresh calls moto lacks go through botocore's Stubber."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from pipeline.errors import ConfigError
from pipeline.ops import ami

TEMPLATE = "python-worker-template-v1"
ASG = "cis-filesearch-worker-asg"
PREFS = {"MinHealthyPercentage": 90, "InstanceWarmup": 300}


def register(ec2: Any, name: str, application: str | None = "file-processor") -> str:
    """A registered image (moto gives it an EBS snapshot), tagged like the Packer build."""
    image_id = ec2.register_image(Name=name, RootDeviceName="/dev/xvda")["ImageId"]
    if application:
        ec2.create_tags(Resources=[image_id], Tags=[{"Key": "Application", "Value": application}])
    return image_id


@pytest.fixture
def ec2(make_client: Any) -> Any:
    return make_client("ec2")


@pytest.fixture
def template(ec2: Any) -> str:
    """The launch template with its first image; returns that image."""
    first = register(ec2, "python-worker-v20240101-000000")
    ec2.create_launch_template(
        LaunchTemplateName=TEMPLATE, LaunchTemplateData={"ImageId": first, "InstanceType": "c7i.2xlarge"}
    )
    return first


def refresh_stub(autoscaling: Any, statuses: list[str], refresh_id: str = "r-1", version: int = 2) -> Stubber:
    """Stubber answering one StartInstanceRefresh (to ``version``) and one DescribeInstanceRefreshes per status."""
    stub = Stubber(autoscaling)
    desired = {"LaunchTemplate": {"LaunchTemplateName": TEMPLATE, "Version": str(version)}}
    stub.add_response(
        "start_instance_refresh",
        {"InstanceRefreshId": refresh_id},
        {"AutoScalingGroupName": ASG, "Strategy": "Rolling", "Preferences": PREFS, "DesiredConfiguration": desired},
    )
    for percent, status in enumerate(statuses):
        stub.add_response(
            "describe_instance_refreshes",
            {"InstanceRefreshes": [{"InstanceRefreshId": refresh_id, "Status": status, "PercentageComplete": percent}]},
            {"AutoScalingGroupName": ASG, "InstanceRefreshIds": [refresh_id]},
        )
    stub.activate()
    return stub


def default_image(ec2: Any) -> tuple[int, str]:
    versions = ec2.describe_launch_template_versions(LaunchTemplateName=TEMPLATE, Versions=["$Default"])
    version = versions["LaunchTemplateVersions"][0]
    return int(version["VersionNumber"]), version["LaunchTemplateData"]["ImageId"]


def test_deploy_makes_new_default_version_and_follows_refresh(ec2: Any, make_client: Any, template: str) -> None:
    new = register(ec2, "python-worker-v20240201-000000")
    autoscaling = make_client("autoscaling")
    stub = refresh_stub(autoscaling, ["Pending", "InProgress", "Successful"])
    lines: list[str] = []

    result = ami.deploy(ec2, autoscaling, new, report=lines.append, poll_s=0, sleep=lambda _: None)

    stub.assert_no_pending_responses()
    assert default_image(ec2) == (2, new)
    assert (result.previous_image_id, result.status, result.refresh_id) == (template, "Successful", "r-1")
    assert any("Successful" in line for line in lines) and any("InProgress" in line for line in lines)


def test_no_wait_starts_refresh_only(ec2: Any, make_client: Any, template: str) -> None:
    new = register(ec2, "python-worker-v20240201-000000")
    autoscaling = make_client("autoscaling")
    stub = refresh_stub(autoscaling, [])
    result = ami.deploy(ec2, autoscaling, new, wait=False, report=lambda _: None)
    stub.assert_no_pending_responses()
    assert result.status == "Pending"


def test_failed_refresh_raises_with_rollback_hint(ec2: Any, make_client: Any, template: str) -> None:
    new = register(ec2, "python-worker-v20240201-000000")
    autoscaling = make_client("autoscaling")
    refresh_stub(autoscaling, ["InProgress", "Failed"])
    with pytest.raises(ami.DeployFailed, match="--rollback") as caught:
        ami.deploy(ec2, autoscaling, new, report=lambda _: None, poll_s=0, sleep=lambda _: None)
    assert template in caught.value.reason and caught.value.exit_code == 1
    assert default_image(ec2) == (1, template), "the previous default is restored"


def test_refresh_in_progress_is_a_config_error(ec2: Any, make_client: Any, template: str) -> None:
    new = register(ec2, "python-worker-v20240201-000000")
    autoscaling = make_client("autoscaling")
    stub = Stubber(autoscaling)
    stub.add_client_error("start_instance_refresh", "InstanceRefreshInProgress", "already running")
    stub.activate()
    with pytest.raises(ConfigError, match="already in progress"):
        ami.deploy(ec2, autoscaling, new, report=lambda _: None)
    assert default_image(ec2) == (1, template), "nothing the group launches changed"


def test_the_default_changes_only_after_the_refresh_started(ec2: Any, make_client: Any, template: str) -> None:
    """The version is the default only once StartInstanceRefresh has answered."""
    new = register(ec2, "python-worker-v20240201-000000")
    autoscaling = make_client("autoscaling")
    seen: list[tuple[int, str]] = []
    autoscaling.meta.events.register("before-parameter-build.auto-scaling.StartInstanceRefresh",
                                     lambda **_: seen.append(default_image(ec2)))
    refresh_stub(autoscaling, [])
    ami.deploy(ec2, autoscaling, new, wait=False, report=lambda _: None)
    assert seen == [(1, template)] and default_image(ec2) == (2, new)


def test_unknown_image_is_refused_before_any_change(ec2: Any, make_client: Any, template: str) -> None:
    with pytest.raises(ConfigError, match="ami-0000000000000dead"):
        ami.deploy(ec2, make_client("autoscaling"), "ami-0000000000000dead", report=lambda _: None)
    assert default_image(ec2) == (1, template)


def test_rollback_deploys_the_replaced_image(ec2: Any, make_client: Any, template: str) -> None:
    new = register(ec2, "python-worker-v20240201-000000")
    autoscaling = make_client("autoscaling")
    refresh_stub(autoscaling, ["Successful"])
    ami.deploy(ec2, autoscaling, new, report=lambda _: None, poll_s=0)

    autoscaling = make_client("autoscaling")
    refresh_stub(autoscaling, ["Successful"], refresh_id="r-2", version=3)
    result = ami.rollback(ec2, autoscaling, report=lambda _: None, poll_s=0)

    assert result.image_id == template and result.previous_image_id == new
    assert default_image(ec2) == (3, template)


def test_rollback_without_history_is_refused(ec2: Any, make_client: Any, template: str) -> None:
    with pytest.raises(ConfigError, match="no earlier"):
        ami.rollback(ec2, make_client("autoscaling"), report=lambda _: None)


def snapshot_exists(ec2: Any, snapshot_id: str) -> bool:
    return any(s["SnapshotId"] == snapshot_id for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"])


def test_prune_keeps_newest_and_in_use_images_and_deletes_snapshots(ec2: Any, template: str) -> None:
    # template (2024-01-01) is used by launch template version 1 and is the oldest.
    images = [register(ec2, f"python-worker-v2024020{day}-000000") for day in range(1, 8)]
    foreign = register(ec2, "python-worker-v20230101-000000", application=None)
    describe = {i["ImageId"]: i for i in ec2.describe_images(ImageIds=[*images, foreign])["Images"]}
    snapshots = {image: ami.snapshots_of(describe[image]) for image in images}
    assert all(snapshots.values()), "moto registers each image with a snapshot"

    dry = ami.prune(ec2, keep=5, dry_run=True, report=lambda _: None)
    assert sorted(i["ImageId"] for i in dry.delete) == sorted(images[:2])
    assert dry.keep[template].startswith("in use by launch template")
    assert len(ec2.describe_images(ImageIds=images)["Images"]) == 7, "dry run changes nothing"

    plan = ami.prune(ec2, keep=5, dry_run=False, report=lambda _: None)
    assert sorted(i["ImageId"] for i in plan.delete) == sorted(images[:2])
    left = {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}
    assert left == {template, foreign, *images[2:]}
    assert not any(snapshot_exists(ec2, s) for image in images[:2] for s in snapshots[image])
    assert all(snapshot_exists(ec2, s) for s in snapshots[images[2]])


def test_prune_spares_image_of_a_running_instance(ec2: Any, template: str) -> None:
    images = [register(ec2, f"python-worker-v2024020{day}-000000") for day in range(1, 4)]
    ec2.run_instances(ImageId=images[0], MinCount=1, MaxCount=1)
    plan = ami.prune(ec2, keep=1, dry_run=True, report=lambda _: None)
    assert sorted(i["ImageId"] for i in plan.delete) == [images[1]]
    assert plan.keep[images[0]].startswith("in use by instance")


def test_prune_refuses_keep_zero(ec2: Any, template: str) -> None:
    with pytest.raises(ConfigError):
        ami.prune(ec2, keep=0, report=lambda _: None)
