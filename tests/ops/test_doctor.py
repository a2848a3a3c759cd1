"""``ocr-cluster doctor`` on this machine against the session's local stack (moto server,
osmem-server: ``stack``), the shared fake IMDSv2 (``imds``), the real Tesseract and the real
``ray`` CLI."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import cli
from pipeline.devstack.stack import REGION
from pipeline.ops import checks, doctor, validate
from pipeline.settings import Settings

pytestmark = pytest.mark.stack

METADATA = {
    "instance-id": "i-0123456789abcdef0",
    "instance-type": "c7i.4xlarge",
    "ami-id": "ami-0aaaabbbbccccdddd",
    "placement/availability-zone": f"{REGION}a",
    "local-ipv4": "10.0.1.23",
    "iam/info": json.dumps({"InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/fp-node"}),
}


@pytest.fixture
def imds_url(imds: Any) -> str:
    """The shared fake IMDSv2, serving this instance's metadata."""
    imds.metadata = dict(METADATA)
    return imds.url


@pytest.fixture(scope="module")
def blackhole_url() -> Iterator[str]:
    """A port that accepts connections and never answers (a firewalled metadata endpoint)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url(stack: Any) -> str:
    """The stack's moto server (S3 + SQS over HTTP)."""
    return stack.endpoint


@pytest.fixture(scope="module")
def opensearch_url(stack: Any) -> str:
    """The stack's osmem-server."""
    return stack.opensearch_url


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The env file is exported into os.environ: give each test a fresh copy and restore it."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("OCR_", "RAY_", "FP_", "AWS_", "OMP_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", "/nonexistent-home-for-doctor-tests")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def queues(moto_url: str) -> dict[str, str]:
    """A queue with two messages waiting, its redrive policy to an empty DLQ; and a DLQ with one."""
    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    suffix = uuid.uuid4().hex[:8]  # the stack is shared and never reset
    dlq = sqs.create_queue(QueueName=f"doctor-dlq-{suffix}")["QueueUrl"]
    empty_dlq = sqs.create_queue(QueueName=f"doctor-dlq-empty-{suffix}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=empty_dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})
    queue = sqs.create_queue(QueueName=f"doctor-queue-{suffix}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")
    return {"queue": queue, "dlq": dlq, "empty_dlq": empty_dlq}


@pytest.fixture(scope="module")
def index(opensearch_url: str) -> str:
    """An existing index."""
    from opensearchpy import OpenSearch

    name = f"doctor-docs-{uuid.uuid4().hex[:8]}"
    OpenSearch(hosts=[opensearch_url]).indices.create(index=name)
    return name


def _env_file(tmp_path: Path, moto_url: str, **values: str) -> Path:
    """A node env file pointing at the local stack."""
    base = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-value",
        "OMP_THREAD_LIMIT": "1",
        "OCR_LANGUAGES": "jpn+eng",
    }
    base.update(values)
    path = tmp_path / "env"
    path.write_text("".join(f"{k}={v}\n" for k, v in base.items()), encoding="utf-8")
    return path


def _by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {check.name: check for check in checks}


def _options(env_file: Path, imds: str, **kwargs: object) -> doctor.DoctorOptions:
    return doctor.DoctorOptions(env_file=env_file, imds_endpoint=imds, timeout_s=2.0, **kwargs)  # type: ignore[arg-type]


def test_healthy_stack_reports_ok(
    tmp_path: Path,
    clean_env: None,
    moto_url: str,
    opensearch_url: str,
    imds_url: str,
    queues: dict[str, str],
    index: str,
) -> None:
    env = _env_file(
        tmp_path,
        moto_url,
        OCR_QUEUE_URL=queues["queue"],
        OCR_DLQ_URL=queues["empty_dlq"],
        OCR_OPENSEARCH_URL=opensearch_url,
        OCR_INDEX=index,
    )
    checks = _by_name(doctor.run_checks(_options(env, imds_url)))
    for name in ("env-file", "settings", "imds", "thread-budget", "language-data", "queue", "opensearch"):
        assert checks[name].status == doctor.OK, (name, checks[name].detail)
    assert checks["queue"].data["queue"]["visible"] == 2
    assert checks["imds"].data["instance_id"] == METADATA["instance-id"]
    assert checks["imds"].data["iam"].endswith("instance-profile/fp-node")
    assert checks["language-data"].data["languages"] == ["jpn", "eng", "jpn_vert", "osd"]
    assert checks["language-data"].data["engine"].startswith("tesseract 5."), "the wheel's bundled engine"


def test_env_file_secrets_are_masked_in_text_and_json(
    tmp_path: Path,
    clean_env: None,
    moto_url: str,
    opensearch_url: str,
    imds_url: str,
    queues: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = _env_file(
        tmp_path,
        moto_url,
        OCR_QUEUE_URL=queues["queue"],
        OCR_OPENSEARCH_URL=opensearch_url.replace("://", "://admin:url-pass-9@"),
        OCR_OPENSEARCH_PASSWORD="os-pass-7",
        RAY_AUTH_TOKEN="ray-token-value-3",
        MY_API_KEY="k-5",
    )
    secrets = ("testing-secret-value", "os-pass-7", "ray-token-value-3", "k-5", "url-pass-9")
    for argv in (["doctor"], ["doctor", "--json"]):
        cli.main(["--env-file", str(env), *argv, "--imds-endpoint", imds_url, "--timeout", "2"])
        out = capsys.readouterr().out
        assert "OCR_OPENSEARCH_PASSWORD=****" in out
        assert "AWS_SECRET_ACCESS_KEY=****" in out
        assert "AWS_ACCESS_KEY_ID=****" in out
        for secret in secrets:
            assert secret not in out, (argv, secret)


def test_failures_exit_non_zero_and_name_the_problem(
    tmp_path: Path,
    clean_env: None,
    moto_url: str,
    imds_url: str,
    queues: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    env = _env_file(
        tmp_path,
        moto_url,
        OCR_QUEUE_URL=queues["queue"],
        OCR_DLQ_URL=queues["dlq"],
        OCR_OPENSEARCH_URL=dead,
        OCR_LANGUAGES="jpn+eng+qqq",
    )
    code = cli.main(["--env-file", str(env), "doctor", "--json", "--imds-endpoint", imds_url, "--timeout", "2"])
    report = json.loads(capsys.readouterr().out)
    checks = {check["name"]: check for check in report["checks"]}
    assert code == 1 and report["ok"] is False
    assert checks["opensearch"]["status"] == "FAIL"
    assert checks["language-data"]["status"] == "FAIL" and checks["language-data"]["data"]["missing"] == ["qqq"]
    assert checks["queue"]["status"] == "WARN" and checks["queue"]["data"]["dlq"]["visible"] == 1
    assert checks["queue"]["data"]["queue"]["visible"] == 2, "the queue's own depth, not the DLQ's"


def test_unreachable_queue_fails(tmp_path: Path, clean_env: None, imds_url: str) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    env = _env_file(tmp_path, dead, OCR_QUEUE_URL=f"{dead}/123456789012/q")
    check = doctor.check_queue(doctor.check_settings(env)[1], timeout_s=1.0)
    assert check.status == doctor.FAIL, check.detail
    assert check.detail.startswith(f"{dead}/123456789012/q: EndpointConnectionError"), check.detail


def test_missing_queue_url_fails(tmp_path: Path, clean_env: None, moto_url: str) -> None:
    env = _env_file(tmp_path, moto_url)
    check = doctor.check_queue(doctor.check_settings(env)[1], timeout_s=5.0)
    assert check.status == doctor.FAIL and "OCR_QUEUE_URL" in check.detail


def test_missing_index_warns(tmp_path: Path, clean_env: None, moto_url: str, opensearch_url: str) -> None:
    missing = f"no-such-index-{uuid.uuid4().hex[:8]}"
    env = _env_file(tmp_path, moto_url, OCR_OPENSEARCH_URL=opensearch_url, OCR_INDEX=missing)
    check = doctor.check_opensearch(doctor.check_settings(env)[1], timeout_s=2)
    assert check.status == doctor.WARN and "does not exist" in check.detail and check.data["index_exists"] is False


def test_imds_requires_the_v2_token(imds_url: str) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{imds_url}/latest/meta-data/instance-id", timeout=2)
    assert err.value.code == 401
    check = doctor.check_imds(doctor.DoctorOptions(imds_endpoint=imds_url))
    assert check.status == doctor.OK and "i-0123456789abcdef0" in check.detail


@pytest.mark.parametrize("which", ["closed", "blackhole"])
def test_not_on_ec2_is_a_quick_warning(which: str, blackhole_url: str) -> None:
    url = blackhole_url if which == "blackhole" else f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    check = doctor.check_imds(doctor.DoctorOptions(imds_endpoint=url, imds_timeout_s=0.5))
    assert time.monotonic() - start < 3
    assert check.status == doctor.WARN and "not on EC2" in check.detail


def test_units_degrade_without_systemd(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    if doctor.systemd_running():
        pytest.skip("systemd is running here; this test covers machines without it")
    monkeypatch.setenv("FP_ROLE", "head")
    checks = doctor.check_units(doctor.DoctorOptions())
    assert [c.name for c in checks] == ["unit ray-head.service", "unit file-processor-worker.service"]
    assert all(c.status == doctor.WARN and "systemd is not running" in c.detail for c in checks)


def test_systemctl_show_parsing() -> None:
    props = doctor.parse_systemctl_show("ActiveState=failed\nSubState=failed\nResult=exit-code\nNRestarts=4\n")
    assert props == {"ActiveState": "failed", "SubState": "failed", "Result": "exit-code", "NRestarts": "4"}


def test_ray_token_mode_and_file(tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert doctor.check_ray_token().status == doctor.FAIL
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    token = tmp_path / "token"
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    assert doctor.check_ray_token().status == doctor.WARN
    token.write_text("s3cr3t")
    token.chmod(0o644)
    assert doctor.check_ray_token().status == doctor.WARN
    token.chmod(0o400)
    check = doctor.check_ray_token()
    assert check.status == doctor.OK and "s3cr3t" not in check.detail


def test_ray_status_without_a_cluster_fails_fast(clean_env: None) -> None:
    if checks.ray_executable() is None:
        pytest.skip("the ray CLI is not installed")
    start = time.monotonic()
    check = doctor.check_ray(f"127.0.0.1:{_closed_port()}", timeout_s=3)
    assert check.status == doctor.FAIL
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("OCR_OPENSEARCH_PASSWORD=p", "OCR_OPENSEARCH_PASSWORD=****"),
        ("export AWS_SESSION_TOKEN='t'", "AWS_SESSION_TOKEN=****"),
        ("client_secret=x", "client_secret=****"),
        ("OCR_INDEX=documents", "OCR_INDEX=documents"),
        ("OCR_OPENSEARCH_URL=https://u:p@h:443", "OCR_OPENSEARCH_URL=https://****@h:443"),
        ("# KEY=comment", "# KEY=comment"),
    ],
)
def test_mask_line(line: str, masked: str) -> None:
    assert doctor.mask_line(line) == masked


def test_language_data_check_covers_osd_and_jpn_vert_not_the_cli(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only OCR_LANGUAGES' files present: the orientation and vertical files are still required,
    and no `tesseract` on PATH is needed (the service never calls it)."""
    tessdata = tmp_path / "tessdata"
    tessdata.mkdir()
    for lang in ("jpn", "eng"):
        (tessdata / f"{lang}.traineddata").write_bytes(b"x")
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings(tessdata=str(tessdata), languages="jpn+eng")
    check = doctor.check_language_data(settings)
    assert check.status == doctor.FAIL and check.data["missing"] == ["jpn_vert", "osd"], check.detail
    for lang in ("osd", "jpn_vert"):
        (tessdata / f"{lang}.traineddata").write_bytes(b"x")
    assert doctor.check_language_data(settings).status == doctor.OK


def test_the_thread_budget_fails_when_tesseract_loaded_before_the_limit() -> None:
    """OpenMP reads OMP_THREAD_LIMIT once, when Tesseract loads: a process that loaded tesserocr
    before the engine module set the limit runs unbounded threads, and the check says so."""
    import subprocess
    import sys

    probe = ("import tesserocr; from pipeline.ops.checks import check_thread_budget; "
             "c = check_thread_budget(); print(c.status, c.detail)")
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    late = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert late.stdout.startswith("FAIL") and "loaded before" in late.stdout, late.stdout + late.stderr
    first = subprocess.run([sys.executable, "-c", probe.replace("import tesserocr; ", "import pipeline.engine.ocr; ")],
                           env=env, capture_output=True, text=True, timeout=60)
    assert first.stdout.startswith("OK"), first.stdout + first.stderr


def test_validate_asks_the_head_a_nodes_env_file_names(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a node validate's Ray check asks the head the env file names (RAY_HEAD_ADDRESS) or the
    local cluster; it used to read RAY_ADDRESS alone, which nodes never set, and said OK."""
    if checks.ray_executable() is None:
        pytest.skip("the ray CLI is not installed")
    monkeypatch.setenv("FP_ROLE", "head")
    monkeypatch.setenv("RAY_HEAD_ADDRESS", f"127.0.0.1:{_closed_port()}")
    check = validate.check_node_ray(timeout_s=3)
    assert check.status == checks.FAIL, check


def test_validate_off_a_node_without_an_address_expects_a_local_ray(clean_env: None) -> None:
    assert validate.check_node_ray().status == checks.OK
