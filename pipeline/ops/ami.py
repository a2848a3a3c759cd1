"""Roll an AMI out to the workers, roll it back, prune old images.

``deploy`` is the guide's three AWS CLI steps made one checked operation, in an order that can
be undone: a new launch template version with the new ImageId (not yet the default); an instance
refresh of the group to exactly that version (``DesiredConfiguration``; MinHealthyPercentage 90,
InstanceWarmup 300); only once the refresh has started is the version made the default. So when
the refresh cannot start (one is already running) nothing the group launches has changed; when
the refresh ends in anything but success the previous default is restored. ``rollback`` deploys the
image of the newest earlier version whose image differs from the default's. ``prune`` keeps
the newest images (the guide keeps 5) and never touches one a launch template version or a
running instance still uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError, DeployFailed
from pipeline.ops.aws import error_code, paginate

DEFAULT_LAUNCH_TEMPLATE = "python-worker-template-v1"
DEFAULT_ASG = "cis-filesearch-worker-asg"
IMAGE_PREFIX = "python-worker-v"
APPLICATION = "file-processor"
REFRESH_DONE = {"Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed", "Baseline"}
REFRESH_OK = {"Successful"}


@dataclass(frozen=True)
class RefreshPreferences:
    """Instance refresh preferences of the guide."""

    min_healthy_percentage: int = 90
    instance_warmup_s: int = 300

    def as_api(self) -> dict[str, Any]:
        """The ``Preferences`` argument of StartInstanceRefresh."""
        return {"MinHealthyPercentage": self.min_healthy_percentage, "InstanceWarmup": self.instance_warmup_s}


@dataclass
class DeployResult:
    """What a deploy did."""

    image_id: str
    previous_image_id: str
    version: int
    refresh_id: str = ""
    status: str = "NotStarted"
    progress: list[str] = field(default_factory=list)


def template_versions(ec2: Any, template: str) -> list[dict[str, Any]]:
    """Every version of a launch template, newest first."""
    try:
        versions = list(
            paginate(ec2, "describe_launch_template_versions", "LaunchTemplateVersions", LaunchTemplateName=template)
        )
    except Exception as exc:
        if "NotFound" in error_code(exc):
            raise ConfigError(f"launch template {template!r} does not exist") from exc
        raise
    return sorted(versions, key=lambda v: int(v["VersionNumber"]), reverse=True)


def default_version(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The default version among ``versions``."""
    for version in versions:
        if version.get("DefaultVersion"):
            return version
    raise ConfigError("the launch template has no default version")


def previous_image(versions: list[dict[str, Any]]) -> str:
    """The image of the newest version older than the default whose image differs from it."""
    current = default_version(versions)
    image = current["LaunchTemplateData"].get("ImageId", "")
    for version in versions:
        if int(version["VersionNumber"]) >= int(current["VersionNumber"]):
            continue
        candidate = version["LaunchTemplateData"].get("ImageId", "")
        if candidate and candidate != image:
            return candidate
    raise ConfigError("no earlier launch template version with another image to roll back to")


def check_image(ec2: Any, image_id: str) -> dict[str, Any]:
    """The image, or ConfigError when it does not exist or is not available."""
    try:
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
    except Exception as exc:
        if "InvalidAMIID" in error_code(exc):
            raise ConfigError(f"image {image_id} does not exist ({error_code(exc)})") from exc
        raise
    if not images:
        raise ConfigError(f"image {image_id} does not exist")
    if images[0].get("State", "available") != "available":
        raise ConfigError(f"image {image_id} is {images[0]['State']}, not available")
    return images[0]


def new_version(ec2: Any, template: str, image_id: str, source_version: int) -> int:
    """Create a version with ``image_id`` from ``source_version`` (the default is left as it is)."""
    created = ec2.create_launch_template_version(
        LaunchTemplateName=template,
        SourceVersion=str(source_version),
        VersionDescription=f"ocr-cluster ami deploy {image_id}",
        LaunchTemplateData={"ImageId": image_id},
    )
    return int(created["LaunchTemplateVersion"]["VersionNumber"])


def set_default(ec2: Any, template: str, version: int) -> None:
    """Make ``version`` the launch template's default (what scale-outs launch)."""
    ec2.modify_launch_template(LaunchTemplateName=template, DefaultVersion=str(version))


def start_refresh(
    autoscaling: Any, asg: str, preferences: RefreshPreferences, template: str = "", version: int = 0
) -> str:
    """Start a rolling instance refresh (to ``template`` ``version`` when given); ConfigError when one
    is already running."""
    desired = {"LaunchTemplate": {"LaunchTemplateName": template, "Version": str(version)}} if template else {}
    try:
        answer = autoscaling.start_instance_refresh(
            AutoScalingGroupName=asg, Strategy="Rolling", Preferences=preferences.as_api(),
            **({"DesiredConfiguration": desired} if desired else {}),
        )
    except Exception as exc:
        if error_code(exc) == "InstanceRefreshInProgress":
            raise ConfigError(f"an instance refresh of {asg} is already in progress; wait or cancel it") from exc
        raise
    return str(answer["InstanceRefreshId"])


def follow_refresh(
    autoscaling: Any,
    asg: str,
    refresh_id: str,
    *,
    poll_s: float = 15.0,
    timeout_s: float = 3600.0,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll the refresh until it ends; report each change of status or progress; return the status."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        refresh = autoscaling.describe_instance_refreshes(AutoScalingGroupName=asg, InstanceRefreshIds=[refresh_id])
        item = refresh["InstanceRefreshes"][0]
        status = str(item["Status"])
        line = f"refresh {refresh_id}: {status} {item.get('PercentageComplete', 0)}%"
        if item.get("StatusReason"):
            line += f" ({item['StatusReason']})"
        if line != last:
            report(line)
            last = line
        if status in REFRESH_DONE:
            return status
        if time.monotonic() >= deadline:
            return "TimedOut"
        sleep(poll_s)


def deploy(
    ec2: Any,
    autoscaling: Any,
    image_id: str,
    *,
    template: str = DEFAULT_LAUNCH_TEMPLATE,
    asg: str = DEFAULT_ASG,
    wait: bool = True,
    preferences: RefreshPreferences | None = None,
    report: Callable[[str], None] = print,
    **follow: Any,
) -> DeployResult:
    """New launch template version with ``image_id``, an instance refresh to it, then the default."""
    check_image(ec2, image_id)
    versions = template_versions(ec2, template)
    current = default_version(versions)
    previous = int(current["VersionNumber"])
    result = DeployResult(
        image_id=image_id,
        previous_image_id=current["LaunchTemplateData"].get("ImageId", ""),
        version=new_version(ec2, template, image_id, previous),
    )
    report(f"{template}: version {result.version} ({image_id}) created; the default stays {previous}")
    try:
        result.refresh_id = start_refresh(autoscaling, asg, preferences or RefreshPreferences(), template,
                                          result.version)
    except Exception:
        report(f"{asg}: the refresh did not start; the group still launches version {previous}")
        raise
    set_default(ec2, template, result.version)
    report(f"{asg}: instance refresh {result.refresh_id} started; version {result.version} is the default")
    result.status = "Pending"
    if wait:
        result.status = follow_refresh(autoscaling, asg, result.refresh_id, report=report, **follow)
        if result.status not in REFRESH_OK:
            set_default(ec2, template, previous)
            raise DeployFailed(
                f"instance refresh {result.refresh_id} ended {result.status}; the default is version {previous} "
                f"({result.previous_image_id}) again; `ocr-cluster ami deploy --rollback` replaces what it launched"
            )
    return result


def rollback(ec2: Any, autoscaling: Any, *, template: str = DEFAULT_LAUNCH_TEMPLATE, **kwargs: Any) -> DeployResult:
    """Deploy the image the default version replaced."""
    image_id = previous_image(template_versions(ec2, template))
    return deploy(ec2, autoscaling, image_id, template=template, **kwargs)


@dataclass
class PrunePlan:
    """Images to keep (and why) and images to delete with their snapshots."""

    keep: dict[str, str] = field(default_factory=dict)
    delete: list[dict[str, Any]] = field(default_factory=list)


def our_images(ec2: Any, prefix: str = IMAGE_PREFIX, application: str = APPLICATION) -> list[dict[str, Any]]:
    """Images owned by this account, named ``prefix*`` and tagged Application; newest first."""
    images = ec2.describe_images(
        Owners=["self"],
        Filters=[{"Name": "name", "Values": [f"{prefix}*"]}, {"Name": "tag:Application", "Values": [application]}],
    )["Images"]
    return sorted(images, key=lambda i: (i.get("CreationDate", ""), i.get("Name", "")), reverse=True)


def images_in_use(ec2: Any) -> dict[str, str]:
    """Image ids used by any launch template version or any live instance, with where."""
    used: dict[str, str] = {}
    for template in paginate(ec2, "describe_launch_templates", "LaunchTemplates"):
        name = template["LaunchTemplateName"]
        for version in template_versions(ec2, name):
            image = version["LaunchTemplateData"].get("ImageId")
            if image:
                used.setdefault(image, f"launch template {name} version {version['VersionNumber']}")
    states = ["pending", "running", "stopping", "stopped"]
    for reservation in paginate(
        ec2, "describe_instances", "Reservations", Filters=[{"Name": "instance-state-name", "Values": states}]
    ):
        for instance in reservation["Instances"]:
            used.setdefault(instance["ImageId"], f"instance {instance['InstanceId']}")
    return used


def plan_prune(images: list[dict[str, Any]], in_use: dict[str, str], keep: int) -> PrunePlan:
    """Keep the ``keep`` newest and every image in use; delete the rest."""
    if keep < 1:
        raise ConfigError("--keep must be at least 1")
    plan = PrunePlan()
    for rank, image in enumerate(images):
        image_id = image["ImageId"]
        if rank < keep:
            plan.keep[image_id] = f"one of the {keep} newest"
        elif image_id in in_use:
            plan.keep[image_id] = f"in use by {in_use[image_id]}"
        else:
            plan.delete.append(image)
    return plan


def snapshots_of(image: dict[str, Any]) -> list[str]:
    """EBS snapshot ids behind an image."""
    return [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", []) if m.get("Ebs", {}).get("SnapshotId")]


def prune(ec2: Any, *, keep: int = 5, dry_run: bool = True, report: Callable[[str], None] = print) -> PrunePlan:
    """Deregister images beyond the newest ``keep`` (never one in use) and delete their snapshots."""
    plan = plan_prune(our_images(ec2), images_in_use(ec2), keep)
    verb = "would delete" if dry_run else "deleting"
    for image_id, why in plan.keep.items():
        report(f"keep   {image_id}  {why}")
    for image in plan.delete:
        snapshots = snapshots_of(image)
        report(f"{verb} {image['ImageId']}  {image.get('Name', '')}  snapshots: {' '.join(snapshots) or '-'}")
        if dry_run:
            continue
        ec2.deregister_image(ImageId=image["ImageId"])
        for snapshot in snapshots:
            ec2.delete_snapshot(SnapshotId=snapshot)
    return plan
