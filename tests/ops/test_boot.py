"""Boot to service, from Terraform's outputs: the SSM parameters the example renders (queue URLs
as moto computes them), created as module node_config creates them; ``node-bootstrap`` run for a
head and then a worker against moto's SSM and a fake IMDSv2, in a scratch root; the env files it
writes accepted by ``ocr-cluster validate --offline``; every unit the bootstrap starts has an
ExecStart whose program install.sh puts there and whose variables the env file sets.

Seams (the script's own variables): FP_ENV_FILE and FP_TOKEN_FILE in the scratch root, SYSTEMCTL
a recorder, FP_SERVICE_USER/GROUP the current user. ``aws`` is the real CLI, over HTTP to moto.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import build_parser
from pipeline.devstack.stack import REGION
from pipeline.settings import Settings
from tests.helpers import reset_moto
from tests.infra import tfrender

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "terraform" / "examples" / "complete"
NODE_CONFIG = REPO / "terraform" / "modules" / "node_config"
BOOTSTRAP = REPO / "cluster" / "bin" / "node-bootstrap"
RAY_NODE = REPO / "cluster" / "bin" / "ray-node"
DEBIAN_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
TOKEN = "ray-token-from-ssm-7f3a"


# --- Terraform's side: what apply would write -------------------------------------------------


def tessdata_dir() -> str:
    """local.tessdata_dir of module node_config, evaluated: its regex on its versions.env."""
    expression = tfrender.blocks(NODE_CONFIG, "locals")["tessdata_dir"]
    match = re.fullmatch(r'\$\{regex\("(.+)", file\(local\.versions_env\)\)\[0\]\}', expression)
    assert match, f"module node_config computes OCR_TESSDATA differently now: {expression}"
    pattern = match.group(1).replace("\\\\", "\\")
    versions = REPO / "ami" / "scripts" / "versions.env"
    assert tfrender.blocks(NODE_CONFIG, "locals")["versions_env"].endswith('/../../../ami/scripts/versions.env")}')
    (value,) = re.findall(pattern, versions.read_text())
    return value


@dataclass
class Rendered:
    """What ``terraform apply`` of the example would produce for the nodes."""

    ssm_prefix: str
    parameters: dict[str, str]
    queue_url: str
    dlq_url: str


def render_example(make_client: Any) -> Rendered:
    """Create the example's queues on moto (AWS computes their URLs) and render the parameters."""
    root = tfrender.root(EXAMPLE, tfrender.load(EXAMPLE / "terraform.tfvars.example"))
    queue = root.child("queue")
    sqs = make_client("sqs")
    dlq_url = sqs.create_queue(QueueName=queue.reference("local.dlq_name"))["QueueUrl"]
    queue_url = sqs.create_queue(QueueName=queue.reference("aws_sqs_queue.this.name"))["QueueUrl"]
    queue.computed = {"aws_sqs_queue.this.id": queue_url, "aws_sqs_queue.dlq.id": dlq_url}
    config = root.child("node_config")
    locals_ = tfrender.blocks(NODE_CONFIG, "locals")
    assert locals_["parameters"] == "${merge({OCR_TESSDATA = local.tessdata_dir}, var.parameters)}"
    # map(string): Terraform writes numbers as their decimal strings
    parameters = {"OCR_TESSDATA": tessdata_dir(), **{k: str(v) for k, v in config.variable("parameters").items()}}
    return Rendered(config.variable("ssm_prefix"), parameters, queue_url, dlq_url)


def apply_parameters(ssm: Any, rendered: Rendered) -> None:
    """The parameters module node_config creates (names from its resources), the token then set."""
    resources = tfrender.resources(NODE_CONFIG, "aws_ssm_parameter")
    assert resources["config"]["name"] == "${var.ssm_prefix}/config/${each.key}"
    for key, value in rendered.parameters.items():
        ssm.put_parameter(Name=f"{rendered.ssm_prefix}/config/{key}", Value=value, Type="String")
    unset = tfrender.blocks(NODE_CONFIG, "variable")["unset_value"]["default"]
    head = resources["head_address"]["name"].replace("${var.ssm_prefix}", rendered.ssm_prefix)
    token = resources["ray_auth_token"]["name"].replace("${var.ssm_prefix}", rendered.ssm_prefix)
    ssm.put_parameter(Name=head, Value=unset, Type="String")
    ssm.put_parameter(Name=token, Value=unset, Type="SecureString")


# --- the node's side --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gcs_port() -> Iterator[int]:
    """A listening socket standing in for the head's GCS port (the worker waits until it answers)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def run_bootstrap(scratch: Path, imds_url: str, gcs_port: int) -> subprocess.CompletedProcess[str]:
    """node-bootstrap with its seams pointed into ``scratch``; systemctl calls go to a log."""
    recorder = scratch / "bin" / "systemctl"
    recorder.parent.mkdir(parents=True, exist_ok=True)
    recorder.write_text(f'#!/bin/sh\necho "$@" >>{scratch}/systemctl.log\n')
    recorder.chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("AWS_", "PATH", "HOME"))},
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url,
        "FP_ENV_FILE": str(scratch / "etc/file-processor/env"),
        "FP_TOKEN_FILE": str(scratch / "run/file-processor/ray-auth-token"),
        "SYSTEMCTL": str(recorder),
        "FP_SERVICE_USER": pwd.getpwuid(os.getuid()).pw_name,
        "FP_SERVICE_GROUP": grp.getgrgid(os.getgid()).gr_name,
        "RAY_GCS_PORT": str(gcs_port),
        "FP_HEAD_WAIT_S": "20",
        "FP_HEAD_RETRY_S": "1",
    }
    return subprocess.run(["bash", str(BOOTSTRAP)], env=env, capture_output=True, text=True, timeout=90, check=False)


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file."""
    lines = [line for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def metadata(role: str, environment: str) -> dict[str, str]:
    """The instance's tags and placement as the launch template exposes them."""
    return {"tags/instance/Role": role, "tags/instance/Environment": environment,
            "placement/region": REGION, "local-ipv4": "127.0.0.1"}


@pytest.fixture(scope="module")
def module_aws(moto_endpoint: str) -> Iterator[Any]:
    """The standard AWS variables on a freshly reset moto, for this module's one boot."""
    import boto3

    reset_moto(moto_endpoint)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield lambda service: boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory, module_aws: Any, imds: Any, gcs_port: int) -> dict[str, Any]:
    """A head, then a worker, booted from the example's rendered parameters (once per module)."""
    tmp_path = tmp_path_factory.mktemp("boot")
    make_client = module_aws
    rendered = render_example(make_client)
    ssm = make_client("ssm")
    apply_parameters(ssm, rendered)
    environment = rendered.ssm_prefix.rsplit("/", 1)[-1]
    imds.metadata = metadata("head", environment)
    refused = run_bootstrap(tmp_path / "head", imds.url, gcs_port)
    assert refused.returncode == 1 and "Ray auth token is not set" in refused.stderr, refused.stderr
    ssm.put_parameter(Name=f"{rendered.ssm_prefix}/ray-auth-token", Value=TOKEN, Type="SecureString", Overwrite=True)
    head = run_bootstrap(tmp_path / "head", imds.url, gcs_port)
    assert head.returncode == 0, head.stdout + head.stderr
    imds.metadata = metadata("worker", environment)
    worker = run_bootstrap(tmp_path / "worker", imds.url, gcs_port)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    return {"rendered": rendered, "root": tmp_path, "ssm": ssm, "port": gcs_port}


def test_example_renders_every_setting_the_service_needs(booted: dict[str, Any]) -> None:
    rendered: Rendered = booted["rendered"]
    template = env_file(REPO / "cluster" / "env.template")
    config_keys = {key for key in template if key.startswith("OCR_")}
    assert set(rendered.parameters) == config_keys, "env.template documents exactly Terraform's parameters"
    assert all(value == "" for key, value in template.items() if key in config_keys), "no value written by hand"
    assert rendered.parameters["OCR_TESSDATA"] == "/usr/local/share/tessdata"
    assert rendered.parameters["OCR_QUEUE_URL"] == rendered.queue_url
    # The heartbeat the queue's visibility is sized for (module queue) is the one the service runs.
    queue = tfrender.root(EXAMPLE, tfrender.load(EXAMPLE / "terraform.tfvars.example")).child("queue")
    assert rendered.parameters["OCR_VISIBILITY_TIMEOUT_S"] == str(queue.variable("heartbeat_visibility_timeout_s"))
    assert rendered.parameters["OCR_HEARTBEAT_S"] == str(queue.variable("heartbeat_interval_s"))
    assert rendered.parameters["OCR_SMOKE_PREFIX"].startswith(
        tfrender.load(EXAMPLE / "terraform.tfvars.example")["source_prefix"]), "under the notification's prefix"


def test_head_and_worker_boot_to_a_valid_env_file(booted: dict[str, Any]) -> None:
    rendered: Rendered = booted["rendered"]
    head = env_file(booted["root"] / "head/etc/file-processor/env")
    worker = env_file(booted["root"] / "worker/etc/file-processor/env")
    for values in (head, worker):
        assert {k: values[k] for k in rendered.parameters} == rendered.parameters
        assert values["OMP_THREAD_LIMIT"] == "1" and values["RAY_AUTH_MODE"] == "token"
    assert head["FP_ROLE"] == "head" and head["RAY_HEAD_ADDRESS"] == f"127.0.0.1:{booted['port']}"
    assert worker["FP_ROLE"] == "worker" and worker["RAY_HEAD_ADDRESS"] == ""
    address = booted["ssm"].get_parameter(Name=f"{rendered.ssm_prefix}/ray-head-address")["Parameter"]["Value"]
    assert address == head["RAY_HEAD_ADDRESS"], "the head published itself"
    token = booted["root"] / "worker/run/file-processor/ray-auth-token"
    assert token.read_text().strip() == TOKEN and token.stat().st_mode & 0o777 == 0o400
    settings = Settings(_env_file=None, **{k.removeprefix("OCR_").lower(): v for k, v in head.items()
                                            if k.startswith("OCR_")})
    assert (settings.queue_url, settings.dlq_url) == (rendered.queue_url, rendered.dlq_url)


def test_the_written_env_file_passes_validate_offline(booted: dict[str, Any]) -> None:
    path = booted["root"] / "head/etc/file-processor/env"
    assert env_file(path)["OCR_TESSDATA"] == tessdata_dir()
    if not all((DEBIAN_TESSDATA / f"{lang}.traineddata").exists() for lang in ("jpn", "eng")):
        pytest.skip("Debian's language data is not installed here")
    # The image's path does not exist on this machine: the same files, where they are here.
    env = {"PATH": os.environ["PATH"], "HOME": str(booted["root"]), "OCR_TESSDATA": str(DEBIAN_TESSDATA)}
    # As the worker unit's ExecStartPre runs it; then whether the local stack's sample generator
    # (which needs a CJK font, which the node's image does not install) was loaded for it.
    probe = ("import sys; from pipeline.cli import main; code = main(sys.argv[1:]); "
             "print('devstack loaded:', any(m.startswith('pipeline.devstack') for m in sys.modules)); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, "--env-file", str(path), "validate", "--offline"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK    language-data" in proc.stdout and "OK    thread-budget" in proc.stdout
    assert "OK    engine" in proc.stdout, proc.stdout
    assert "devstack loaded: False" in proc.stdout, "the node's check must not need the local stack's samples"


def _exec_lines(unit: Path) -> list[str]:
    keys = ("ExecStart=", "ExecStartPre=", "ExecStop=")
    return [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith(keys)]


def test_every_started_unit_resolves(booted: dict[str, Any], tmp_path: Path) -> None:
    """Programs: installed by install.sh (run under DESTDIR) or the venv's console scripts; the
    ocr-cluster arguments parse; each ${VAR} is set in the env file of the role that starts it."""
    image = tmp_path / "image"
    env = {"PATH": "/usr/bin:/bin", "BUILD_DIR": str(REPO), "DESTDIR": str(image), "SYSTEMCTL": "false"}
    install = subprocess.run(["bash", str(REPO / "ami/scripts/install.sh"), "--step", "cluster_files"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert install.returncode == 0, install.stderr
    venv = {"/opt/file-processor/venv/bin/ocr-cluster", "/opt/file-processor/venv/bin/ray"}
    assert shutil.which("ray", path=str(Path(sys.executable).parent)), "the venv has ray"
    checked = 0
    for role in ("head", "worker"):
        values = env_file(booted["root"] / role / "etc/file-processor/env")
        started = (booted["root"] / role / "systemctl.log").read_text().split()
        for unit_name in [word for word in started if word.endswith(".service")]:
            unit = image / "etc/systemd/system" / unit_name
            assert unit.is_file(), f"{role} starts {unit_name}, which install.sh does not install"
            for line in _exec_lines(unit):
                for var in re.findall(r"\$\{(\w+)\}", line):
                    assert values.get(var), f"{unit_name} uses ${{{var}}}, empty in the {role}'s env file"
                argv = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m, v=values: v[m.group(1)], line))
                argv[0] = argv[0].lstrip("-+!@:")  # systemd's prefixes (+: with full privileges)
                assert argv[0] in venv or os.access(image / argv[0].lstrip("/"), os.X_OK), (unit_name, argv[0])
                if argv[0].endswith("/ocr-cluster"):
                    build_parser().parse_args(argv[1:])
                checked += 1
    assert checked >= 6


def test_workers_follow_a_replaced_head_through_ssm(booted: dict[str, Any], tmp_path: Path) -> None:
    """ray-worker.service restarts ray-node, which reads the head's address from SSM each time."""
    rendered: Rendered = booted["rendered"]
    worker_env = env_file(booted["root"] / "worker/etc/file-processor/env")
    token = booted["root"] / "worker/run/file-processor/ray-auth-token"

    def start_worker() -> subprocess.CompletedProcess[str]:
        env = {**{k: v for k, v in os.environ.items() if k.startswith(("AWS_", "PATH", "HOME"))},
               **worker_env, "RAY_BIN": "/bin/echo", "RAY_AUTH_TOKEN_PATH": str(token)}
        return subprocess.run([str(RAY_NODE), "worker"], env=env, capture_output=True, text=True, timeout=60)

    first = start_worker()
    assert first.returncode == 0 and f"--address=127.0.0.1:{booted['port']}" in first.stdout.split(), first.stderr
    booted["ssm"].put_parameter(Name=f"{rendered.ssm_prefix}/ray-head-address", Value="10.0.9.9:6379",
                                Type="String", Overwrite=True)
    second = start_worker()
    assert second.returncode == 0 and "--address=10.0.9.9:6379" in second.stdout.split(), second.stderr
    booted["ssm"].put_parameter(Name=f"{rendered.ssm_prefix}/ray-head-address", Value="unset",
                                Type="String", Overwrite=True)
    waiting = start_worker()
    assert waiting.returncode == 1 and "no head address" in waiting.stderr, "fails, and systemd retries"


def test_a_rebooted_node_gets_its_ray_token_back(booted: dict[str, Any]) -> None:
    """After a reboot the token is gone (/run is a tmpfs) and node-bootstrap does not run again (the
    user data runs once per instance); the units are enabled and start on their own. Each that
    reads the token must put it back first, as root, from what the first boot wrote."""
    checked = 0
    for role in ("head", "worker"):
        root = booted["root"] / role
        values = env_file(root / "etc/file-processor/env")
        token = root / "run/file-processor/ray-auth-token"
        started = [w for w in (root / "systemctl.log").read_text().split() if w.endswith(".service")]
        for unit_name in started:
            unit = (REPO / "cluster/systemd" / unit_name).read_text()
            if "RAY_AUTH_TOKEN_PATH=/run/file-processor/ray-auth-token" not in unit:
                continue
            token.unlink(missing_ok=True)
            token.parent.rmdir()  # the reboot emptied /run
            for line in [x.split("=", 1)[1] for x in unit.splitlines() if x.startswith("ExecStartPre=+")]:
                argv = shlex.split(line)
                argv[0] = argv[0].replace("/opt/file-processor/bin/", f"{REPO}/cluster/bin/").lstrip("+")
                env = {**{k: v for k, v in os.environ.items() if k.startswith(("AWS_", "PATH", "HOME"))},
                       **values, "FP_TOKEN_FILE": str(token),
                       "FP_SERVICE_USER": pwd.getpwuid(os.getuid()).pw_name,
                       "FP_SERVICE_GROUP": grp.getgrgid(os.getgid()).gr_name}
                proc = subprocess.run(["bash", *argv], env=env, capture_output=True, text=True, timeout=60)
                assert proc.returncode == 0, proc.stdout + proc.stderr
            assert token.is_file() and token.read_text().strip() == TOKEN, (
                f"{unit_name} ({role}) starts after a reboot without the Ray token")
            assert token.stat().st_mode & 0o777 == 0o400
            checked += 1
    assert checked >= 4


def test_doctor_expects_the_units_the_bootstrap_starts(booted: dict[str, Any]) -> None:
    """`ocr-cluster doctor` on a node FAILs a unit of its role that is not active: the units of a
    role are the ones node-bootstrap started for it, no more and no fewer."""
    from pipeline.ops import doctor

    for role in ("head", "worker"):
        started = [w for w in (booted["root"] / role / "systemctl.log").read_text().split() if w.endswith(".service")]
        assert set(doctor.UNITS_BY_ROLE[role]) == set(started), role
    assert set(doctor.ALL_UNITS) == {unit for units in doctor.UNITS_BY_ROLE.values() for unit in units}
