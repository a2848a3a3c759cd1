"""The Auto Scaling termination lifecycle hook: heartbeat while draining, complete when done."""

from __future__ import annotations

import logging
import time
from typing import Any

from pipeline.fleet.imds import endpoint, instance_id, target_lifecycle_state
from pipeline.settings import Settings

log = logging.getLogger("ocr_cluster.lifecycle")


class TerminationHook:
    """Keeps the instance in Terminating:Wait while the service drains, then lets it go."""

    def __init__(self, autoscaling: Any, asg: str, hook: str, instance: str, every_s: float = 60.0) -> None:
        self.autoscaling = autoscaling
        self.asg = asg
        self.hook = hook
        self.instance = instance
        self.every_s = every_s
        self._last = 0.0

    @classmethod
    def for_this_instance(cls, settings: Settings, imds_url: str | None = None) -> TerminationHook | None:
        """The hook for the instance we run on; None when not on EC2, or on an instance in no Auto
        Scaling group (the Ray head: the group's hook is for its workers, answered by their
        ``node-drain``; a heartbeat for the head would be refused on every drain)."""
        from pipeline.awsclients import aws_client

        base = endpoint(imds_url)
        try:
            instance = instance_id(base)
        except OSError:
            log.warning("not on EC2: the lifecycle hook is not used")
            return None
        try:
            target_lifecycle_state(base)
        except OSError:
            log.info("not in an Auto Scaling group: the lifecycle hook is not used", extra={"instance": instance})
            return None
        return cls(aws_client("autoscaling"), settings.asg_name, settings.lifecycle_hook, instance)

    def _common(self) -> dict[str, str]:
        return {"AutoScalingGroupName": self.asg, "LifecycleHookName": self.hook, "InstanceId": self.instance}

    def heartbeat_if_due(self) -> None:
        """Extend the hook's timeout at most every ``every_s``."""
        if time.monotonic() - self._last < self.every_s:
            return
        self._last = time.monotonic()
        try:
            self.autoscaling.record_lifecycle_action_heartbeat(**self._common())
        except Exception as exc:  # no pending action: not terminating, nothing to extend
            log.info("lifecycle heartbeat not recorded", extra={"error": str(exc)})

    def complete(self) -> None:
        """Tell Auto Scaling the drain is done (CONTINUE)."""
        try:
            self.autoscaling.complete_lifecycle_action(LifecycleActionResult="CONTINUE", **self._common())
        except Exception as exc:
            log.info("lifecycle action not completed", extra={"error": str(exc)})
