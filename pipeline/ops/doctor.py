"""``ocr-cluster doctor``: everything worth knowing on a node when the worker does not start.

It replaces the old ``debug-worker.sh``. Its checks are :mod:`pipeline.ops.checks`' (shared
with ``validate``) and the node's own below; ``run_checks`` runs them all in order:

    env-file    /etc/file-processor/env, printed with secrets masked
    settings    the settings the service would run with
    units       ray-head / ray-worker / file-processor-worker / file-processor-node-drain: state and last log lines
    imds        instance identity through IMDSv2 (token PUT, then GET); "not on EC2" otherwise
    ray-token   token authentication on and the token file present (never printed)
    thread-budget  OMP_THREAD_LIMIT=1 in this process, set before Tesseract loaded (the service
                sets it the same way in each of its processes)
    language-data  the engine (tesserocr's bundled Tesseract) and every language file it loads:
                OCR_LANGUAGES plus the vertical reader and OSD, in OCR_TESSDATA
    queue       the SQS queue, its redrive policy, and both depths
    opensearch  the cluster and the index
    ray         ``ray status`` against the head
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.fleet import imds
from pipeline.ops.checks import (
    FAIL,
    MASK,
    OK,
    WARN,
    Check,
    check_language_data,
    check_opensearch,
    check_queue,
    check_ray,
    check_thread_budget,
    mask_url,
    ray_head_address,
)
from pipeline.settings import NODE_ENV_FILE, Settings, load_settings

# The units cluster/bin/node-bootstrap starts for each role (tests/ops/test_boot.py compares them).
UNITS_BY_ROLE = {
    "head": ("ray-head.service", "file-processor-worker.service"),
    "worker": ("ray-worker.service", "file-processor-node-drain.service"),
}
ALL_UNITS = ("ray-head.service", "ray-worker.service", "file-processor-worker.service",
             "file-processor-node-drain.service")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)


@dataclass
class DoctorOptions:
    """Where to look and how long to wait."""

    env_file: Path | None = None
    imds_endpoint: str = ""
    ray_address: str = ""
    timeout_s: float = 5.0
    imds_timeout_s: float = 1.0
    log_lines: int = 5



# --- env file ------------------------------------------------------------------------------


def mask_line(line: str) -> str:
    """A KEY=VALUE line with the value masked when the key looks secret, and URL passwords masked."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or "=" not in stripped:
        return line
    key, _, value = stripped.removeprefix("export ").partition("=")
    if SECRET_KEY.search(key):
        return f"{key}={MASK}" if value else f"{key}="
    return f"{key}={mask_url(value)}"


def check_env_file(path: Path | None) -> Check:
    """The env file exists and is readable; its lines, secrets masked."""
    if path is None:
        return Check("env-file", WARN, f"{NODE_ENV_FILE} not found (not a node, or bootstrap has not run)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return Check("env-file", FAIL, f"{path}: {exc.strerror or exc}")
    lines = [mask_line(line) for line in text.splitlines()]
    keys = [line.split("=", 1)[0] for line in lines if "=" in line and not line.lstrip().startswith("#")]
    return Check("env-file", OK, f"{path} ({len(keys)} variables)", {"path": str(path), "lines": lines})


def check_settings(env_file: Path | None) -> tuple[Check, Settings | None]:
    """Load the settings the service would run with (the env file is exported first)."""
    try:
        settings = load_settings(env_file)
    except Exception as exc:  # pydantic ValidationError, OSError: both are the answer here
        return Check("settings", FAIL, f"invalid settings: {exc}".splitlines()[0]), None
    url = mask_url(settings.opensearch_url)
    detail = f"queue={settings.queue_url or '-'} opensearch={url} index={settings.index}"
    return Check("settings", OK, detail), settings


# --- systemd -------------------------------------------------------------------------------


def parse_systemctl_show(text: str) -> dict[str, str]:
    """``systemctl show -p A,B`` output as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _run(argv: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its text, never wait longer than ``timeout_s``."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False)


def systemd_running() -> bool:
    """Whether PID 1 is systemd (``/run/systemd/system`` is its marker)."""
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def last_log_lines(unit: str, lines: int, timeout_s: float) -> list[str]:
    """The unit's last journal lines; empty when the journal cannot be read."""
    if shutil.which("journalctl") is None:
        return []
    try:
        proc = _run(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "cat"], timeout_s)
    except subprocess.TimeoutExpired:
        return ["(journalctl timed out)"]
    return proc.stdout.splitlines()[-lines:] if proc.returncode == 0 else []


def check_unit(unit: str, expected: bool, options: DoctorOptions) -> Check:
    """One unit's state and its last log lines; FAIL only when the node's role needs it."""
    name = f"unit {unit}"
    if not systemd_running():
        return Check(name, WARN, "systemd is not running here; unit state unknown")
    try:
        proc = _run(["systemctl", "show", "-p", "ActiveState,SubState,Result,NRestarts", unit], options.timeout_s)
    except subprocess.TimeoutExpired:
        return Check(name, FAIL, "systemctl timed out")
    props = parse_systemctl_show(proc.stdout)
    state = f"{props.get('ActiveState', '?')}/{props.get('SubState', '?')}"
    detail = f"{state} result={props.get('Result', '?')} restarts={props.get('NRestarts', '?')}"
    logs = last_log_lines(unit, options.log_lines, options.timeout_s)
    status = OK if props.get("ActiveState") == "active" else (FAIL if expected else WARN)
    return Check(name, status, detail, {"logs": logs, **props})


def check_units(options: DoctorOptions) -> list[Check]:
    """The node's units: those of its role (FP_ROLE) must be active; the others are reported."""
    role = os.environ.get("FP_ROLE", "")
    expected = set(UNITS_BY_ROLE.get(role, ()))
    units = UNITS_BY_ROLE.get(role, ALL_UNITS)
    return [check_unit(unit, unit in expected, options) for unit in units]


# --- IMDSv2 --------------------------------------------------------------------------------


def imds_endpoint(options: DoctorOptions) -> str:
    """The metadata endpoint: the option, then boto's AWS_EC2_METADATA_SERVICE_ENDPOINT, then EC2's."""
    return imds.endpoint(options.imds_endpoint)


def check_imds(options: DoctorOptions) -> Check:
    """Instance identity through IMDSv2; WARN "not on EC2" when the endpoint does not answer."""
    endpoint = imds_endpoint(options)
    try:
        token = imds.session_token(endpoint, options.imds_timeout_s)
    except (OSError, urllib.error.URLError) as exc:
        return Check("imds", WARN, f"not on EC2 ({endpoint} unreachable: {_reason(exc)})")
    identity: dict[str, Any] = {}
    for key, path in (
        ("instance_id", "instance-id"),
        ("instance_type", "instance-type"),
        ("ami_id", "ami-id"),
        ("az", "placement/availability-zone"),
        ("private_ip", "local-ipv4"),
        ("iam", "iam/info"),
    ):
        try:
            identity[key] = imds.read(endpoint, token, path, options.imds_timeout_s)
        except (OSError, urllib.error.URLError) as exc:
            identity[key] = f"? ({_reason(exc)})"
    if isinstance(identity.get("iam"), str) and identity["iam"].startswith("{"):
        identity["iam"] = json.loads(identity["iam"]).get("InstanceProfileArn", "?")
    detail = " ".join(f"{k}={identity[k]}" for k in ("instance_id", "instance_type", "ami_id", "az"))
    status = OK if not str(identity["instance_id"]).startswith("?") else FAIL
    return Check("imds", status, detail, identity)


def _reason(exc: BaseException) -> str:
    """A short reason for a network error."""
    reason = getattr(exc, "reason", None) or exc
    return str(reason) or type(exc).__name__


# --- the Ray token ----------------------------------------------------------------


def check_ray_token() -> Check:
    """Token authentication is on and the token is present (its value is never read out)."""
    mode = os.environ.get("RAY_AUTH_MODE", "token")
    if mode != "token":
        return Check("ray-token", FAIL, f"RAY_AUTH_MODE={mode}: token authentication must stay on")
    if os.environ.get("RAY_AUTH_TOKEN"):
        return Check("ray-token", OK, "token from RAY_AUTH_TOKEN")
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    try:
        size, mode_bits = path.stat().st_size, path.stat().st_mode & 0o077
    except OSError:
        return Check("ray-token", WARN, f"no token at {path} (node-bootstrap fetches it from SSM)")
    if size == 0:
        return Check("ray-token", FAIL, f"{path} is empty")
    if mode_bits:
        return Check("ray-token", WARN, f"{path} is readable by group/others (chmod 0400)")
    return Check("ray-token", OK, f"{path} present")


# --- the report ----------------------------------------------------------------------------


def run_checks(options: DoctorOptions) -> list[Check]:
    """Every check, in the order an operator reads them."""
    env_file = options.env_file or (NODE_ENV_FILE if NODE_ENV_FILE.exists() else None)
    checks = [check_env_file(env_file)]
    settings_check, settings = check_settings(env_file)
    checks.append(settings_check)
    checks += check_units(options)
    steps: list[Callable[[], Check]] = [
        lambda: check_imds(options),
        check_ray_token,
        check_thread_budget,
        lambda: check_language_data(settings or Settings()),
        lambda: check_queue(settings, options.timeout_s),
        lambda: check_opensearch(settings, options.timeout_s),
        lambda: check_ray(ray_address(options), options.timeout_s * 3),
    ]
    checks += [step() for step in steps]
    return checks


def ray_address(options: DoctorOptions) -> str:
    """The head to ask: the option, else :func:`~pipeline.ops.checks.ray_head_address`'s."""
    return ray_head_address(options.ray_address)
