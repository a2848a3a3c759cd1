"""The nodes' files, checked offline: systemd units (``systemd-analyze verify`` on a scratch copy
whose ExecStart binaries exist), the ray-node wrapper's arguments, the bootstrap's handling of
secrets, the CloudWatch agent config and the Ray cluster launcher YAML."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
UNITS = sorted((CLUSTER / "systemd").glob("*.service"))
PREFIX = "/opt/file-processor/"


def _unit(name: str) -> dict[str, list[str]]:
    """A unit file as {"Section.Key": [values...]} (keys may repeat, e.g. Environment)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in (CLUSTER / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(f"{section}.{key}", []).append(value)
    return out


@pytest.fixture(scope="module")
def scratch_units(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Copies of the units whose /opt/file-processor binaries exist in a scratch root."""
    root = tmp_path_factory.mktemp("root")
    commands = set()
    for unit in UNITS:
        commands |= set(re.findall(r"(/opt/file-processor/\S+)", unit.read_text()))
    for command in commands:
        path = root / command.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    out = root / "units"
    out.mkdir()
    for unit in UNITS:
        (out / unit.name).write_text(unit.read_text().replace(PREFIX, f"{root}{PREFIX}"))
    return sorted(out.iterdir())


def test_systemd_analyze_verify(scratch_units: list[Path]) -> None:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed")
    proc = subprocess.run([exe, "verify", *map(str, scratch_units)], capture_output=True, text=True, timeout=60)
    if "Failed to initialize" in proc.stderr or ("Cannot" in proc.stderr and proc.returncode):
        pytest.skip(f"systemd-analyze cannot run here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", f"warnings: {proc.stderr}"


def test_verify_catches_a_broken_unit(scratch_units: list[Path], tmp_path: Path) -> None:
    """The verify test above can fail: a typo'd key is reported."""
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed")
    broken = tmp_path / "ray-head.service"
    broken.write_text(scratch_units[1].read_text().replace("Restart=", "Restat="))
    proc = subprocess.run([exe, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "Restat" in proc.stderr


@pytest.mark.parametrize("unit", [u.name for u in UNITS])
def test_every_unit_reads_the_env_file_and_keeps_token_auth(unit: str) -> None:
    props = _unit(unit)
    assert props["Service.EnvironmentFile"] == ["/etc/file-processor/env"]
    env = props["Service.Environment"]
    assert "OMP_THREAD_LIMIT=1" in env
    assert "RAY_AUTH_MODE=token" in env
    assert "RAY_AUTH_TOKEN_PATH=/run/file-processor/ray-auth-token" in env
    # node-drain stops ray-worker.service, which needs root; every other unit runs as ocr
    assert props.get("Service.User", ["root"]) == (["root"] if unit == "file-processor-node-drain.service" else ["ocr"])
    assert props["Service.StandardOutput"] == ["journal"]
    assert props["Install.WantedBy"] == ["multi-user.target"]


def test_stream_service() -> None:
    props = _unit("file-processor-worker.service")
    assert props["Service.ExecStart"] == [
        "/opt/file-processor/venv/bin/ocr-cluster stream --address ${RAY_HEAD_ADDRESS}"
    ]
    assert props["Service.Restart"] == ["on-failure"]
    assert props["Service.KillSignal"] == ["SIGTERM"]
    drain_default = 90
    assert int(props["Service.TimeoutStopSec"][0]) >= drain_default + 20, "must outlast the drain"
    assert "OCR_LOG_FORMAT=json" in props["Service.Environment"]
    assert props["Service.SyslogIdentifier"] == ["file-processor-worker"]
    assert "ray-head.service" in props["Unit.After"][0]


@pytest.mark.parametrize(("unit", "role"), [("ray-head.service", "head"), ("ray-worker.service", "worker")])
def test_ray_units_run_the_wrapper(unit: str, role: str) -> None:
    props = _unit(unit)
    assert props["Service.ExecStart"] == [f"/opt/file-processor/bin/ray-node {role}"]
    assert props["Service.ExecStop"][0].endswith("ray stop --grace-period 30")


def _ray_node(tmp_path: Path, role: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run cluster/bin/ray-node with `echo` standing in for the ray binary (the one seam)."""
    token = tmp_path / "token"
    token.write_text("t")
    base = {
        "PATH": os.environ["PATH"],
        "RAY_BIN": "/bin/echo",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "OMP_THREAD_LIMIT": "1",  # as on the nodes: must not shrink the CPU count
    }
    return subprocess.run(
        [str(CLUSTER / "bin" / "ray-node"), role], env={**base, **env}, capture_output=True, text=True, timeout=30
    )


def test_ray_node_head_arguments(tmp_path: Path) -> None:
    proc = _ray_node(tmp_path, "head")
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.split()
    assert args[:2] == ["start", "--head"] and "--block" in args
    cores = len(os.sched_getaffinity(0))
    assert f"--num-cpus={cores - 1 if cores > 2 else cores}" in args
    mem = int(next(a for a in args if a.startswith("--memory=")).split("=")[1])
    total = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) * 1024
    assert 0.5 * total < mem < 0.8 * total
    for flag in (
        "--port=6379",
        "--metrics-export-port=8080",
        "--dashboard-port=8265",
        "--ray-client-server-port=10001",
        "--node-manager-port=6380",
        "--object-manager-port=6381",
        "--min-worker-port=10002",
        "--max-worker-port=10999",
    ):
        assert flag in args, flag


def test_ray_node_worker_joins_the_head(tmp_path: Path) -> None:
    proc = _ray_node(tmp_path, "worker", RAY_HEAD_ADDRESS="10.0.1.5:6379")
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.split()
    assert "--address=10.0.1.5:6379" in args and "--block" in args and "--head" not in args
    assert f"--num-cpus={len(os.sched_getaffinity(0))}" in args


def test_ray_node_refuses_without_token_or_with_auth_off(tmp_path: Path) -> None:
    missing = _ray_node(tmp_path, "head", RAY_AUTH_TOKEN_PATH=str(tmp_path / "absent"))
    assert missing.returncode == 1 and "token" in missing.stderr
    off = _ray_node(tmp_path, "head", RAY_AUTH_MODE="disabled")
    assert off.returncode == 1 and "RAY_AUTH_MODE" in off.stderr
    assert _ray_node(tmp_path, "sideways").returncode == 1


def test_user_data_carries_no_secret_and_no_setting() -> None:
    text = (CLUSTER / "user-data.sh").read_text()
    assert "/opt/file-processor/bin/node-bootstrap" in text and "/var/log/user-data.log" in text
    assert not re.search(r"(TOKEN|PASSWORD|SECRET|ACCESS_KEY|QUEUE_URL)\s*=", text)


def test_bootstrap_handles_the_token_safely() -> None:
    text = (CLUSTER / "bin" / "node-bootstrap").read_text()
    assert "set -x" not in text and "bash -x" not in text.replace("never run this with -x", "")
    assert '"/file-processor/${environment}/ray-auth-token" --with-decryption' in text
    assert "umask 077" in text and "chmod 0400" in text
    assert "/file-processor/${environment}/ray-head-address" in text
    assert "X-aws-ec2-metadata-token" in text and "tags/instance/Role" in text
    assert "OMP_THREAD_LIMIT=1" in text and "RAY_AUTH_MODE=token" in text


def test_env_template_holds_no_secret() -> None:
    lines = [line for line in (CLUSTER / "env.template").read_text().splitlines() if "=" in line and line[0] != "#"]
    keys = {line.split("=", 1)[0] for line in lines}
    assert {"OMP_THREAD_LIMIT", "RAY_AUTH_MODE", "OCR_QUEUE_URL", "OCR_OPENSEARCH_URL"} <= keys
    assert not {key for key in keys if re.search("PASSWORD|SECRET|TOKEN$|ACCESS_KEY", key)}


def test_cloudwatch_agent_ships_logs_and_memory_disk_metrics() -> None:
    config = json.loads((CLUSTER / "cloudwatch" / "amazon-cloudwatch-agent.json").read_text())
    files = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert {f["log_group_name"] for f in files} == {"/aws/ec2/file-processor"}
    paths = {f["file_path"] for f in files}
    assert "/var/log/user-data.log" in paths
    rsyslog = (CLUSTER / "rsyslog" / "30-file-processor.conf").read_text()
    for path in paths - {"/var/log/user-data.log"}:
        assert path in rsyslog, f"{path} is shipped but nothing writes it"
    metrics = config["metrics"]["metrics_collected"]
    assert "mem_used_percent" in metrics["mem"]["measurement"]
    assert "used_percent" in metrics["disk"]["measurement"]


def _rsyslog_routes() -> dict[str, str]:
    """programname -> the file rsyslog writes its journal lines to (cluster/rsyslog)."""
    text = (CLUSTER / "rsyslog" / "30-file-processor.conf").read_text()
    routes: dict[str, str] = {}
    for condition, target in re.findall(r"^if (.+?) then \{\s*action\([^)]*?file=\"([^\"]+)\"", text, re.M | re.S):
        for name in re.findall(r"\$programname == '([^']+)'", condition):
            routes[name] = target
    return routes


def _logrotated(path: str) -> bool:
    """Whether cluster/logrotate-file-processor rotates ``path`` (its globs, as logrotate reads them)."""
    from fnmatch import fnmatch

    text = (CLUSTER / "logrotate-file-processor").read_text()
    globs = text.split("{", 1)[0].split()
    return any(fnmatch(path, glob) for glob in globs)


@pytest.mark.parametrize("unit", [u.name for u in UNITS])
def test_each_units_journal_reaches_the_log_group(unit: str) -> None:
    """A unit's lines (its SyslogIdentifier) are copied by rsyslog to a file the CloudWatch agent
    ships and logrotate rotates: a terminated worker's own logs are gone with its disk."""
    (identifier,) = _unit(unit)["Service.SyslogIdentifier"]
    routes = _rsyslog_routes()
    assert identifier in routes, f"rsyslog routes no line of {identifier} ({unit}) to a file"
    config = json.loads((CLUSTER / "cloudwatch" / "amazon-cloudwatch-agent.json").read_text())
    shipped = {f["file_path"] for f in config["logs"]["logs_collected"]["files"]["collect_list"]}
    assert routes[identifier] in shipped, f"{routes[identifier]} ({identifier}) is not shipped"
    assert _logrotated(routes[identifier]), f"{routes[identifier]} is not rotated"


@pytest.fixture(scope="module")
def launcher() -> dict:
    return yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())


def test_launcher_yaml(launcher: dict) -> None:
    assert launcher["provider"]["type"] == "aws"
    for node_type in launcher["available_node_types"].values():
        config = node_type["node_config"]
        assert config["MetadataOptions"]["HttpTokens"] == "required"
        assert "Arn" in config["IamInstanceProfile"]
        assert "KeyName" not in config
    head = " ".join(launcher["head_start_ray_commands"])
    worker = " ".join(launcher["worker_start_ray_commands"])
    for commands in (head, worker):
        assert "RAY_AUTH_MODE=token" in commands and "OMP_THREAD_LIMIT=1" in commands
        assert "ray-auth-token --with-decryption" in commands
        assert "--metrics-export-port=8080" in commands
    assert "--head" in head and "$RAY_HEAD_IP:6379" in worker
