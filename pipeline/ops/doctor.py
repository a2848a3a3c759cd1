"""``ocr-cluster doctor``: everything worth knowing on a node when the worker does not start.

It replaces the old ``debug-worker.sh``. Each check is a plain function returning one
:class:`Check` (OK, WARN or FAIL with a one-line detail and optional data); none may hang, so
each talks to the outside world with a short time-out. ``run_checks`` runs them all in order:

    env-file    /etc/file-processor/env, printed with secrets masked
    settings    the settings the service would run with
    units       ray-head / ray-worker / file-processor-worker: state and last log lines
    imds        instance identity through IMDSv2 (token PUT, then GET); "not on EC2" otherwise
    ray-token   token authentication on and the token file present (never printed)
    omp         OMP_THREAD_LIMIT=1 for every Tesseract process
    language-data  the engine (tesserocr's bundled Tesseract) and every language file it loads:
                OCR_LANGUAGES plus osd and jpn_vert, in OCR_TESSDATA
    queue       the SQS queue (and DLQ depth)
    opensearch  the cluster and the index
    ray         ``ray status`` against the head
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.fleet import imds
from pipeline.settings import DEBIAN_TESSDATA, NODE_ENV_FILE, Settings, load_settings
from pipeline.sinks.opensearch import make_client
from pipeline.sources.sqs import SqsQueue

OK, WARN, FAIL = "OK", "WARN", "FAIL"
UNITS_BY_ROLE = {
    "head": ("ray-head.service", "file-processor-worker.service"),
    "worker": ("ray-worker.service",),
}
ALL_UNITS = ("ray-head.service", "ray-worker.service", "file-processor-worker.service")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
MASK = "****"
AUX_LANGUAGES = ("osd", "jpn_vert")  # orientation detection, vertical Japanese


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


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


def mask_url(text: str) -> str:
    """``scheme://user:password@host`` with the user information masked."""
    return URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)


def _short(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line, URL passwords masked."""
    text = mask_url(f"{type(exc).__name__}: {exc}".splitlines()[0])
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


# --- Ray token, threads, engine ------------------------------------------------------------


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


def check_omp() -> Check:
    """OMP_THREAD_LIMIT=1: one Tesseract thread per process (7x faster than OpenMP's default)."""
    value = os.environ.get("OMP_THREAD_LIMIT")
    if value == "1":
        return Check("omp", OK, "OMP_THREAD_LIMIT=1")
    return Check("omp", WARN, f"OMP_THREAD_LIMIT={value or 'unset'}; the units set 1")


def required_languages(settings: Settings | None) -> list[str]:
    """OCR_LANGUAGES plus what the engine loads beside them (orientation, vertical Japanese)."""
    languages = (settings.languages if settings else "jpn+eng").split("+")
    return languages + [lang for lang in AUX_LANGUAGES if lang not in languages]


def engine_version() -> str:
    """The Tesseract the service runs: the one bundled in the tesserocr wheel (not a CLI)."""
    try:
        import tesserocr

        return str(tesserocr.tesseract_version()).splitlines()[0]
    except Exception as exc:  # an unloadable wheel is the finding itself
        return f"? ({_short(exc)})"


def check_language_data(settings: Settings | None) -> Check:
    """Every language the service loads has its ``.traineddata`` in OCR_TESSDATA."""
    tessdata = Path(settings.tessdata if settings else DEBIAN_TESSDATA)
    wanted = required_languages(settings)
    missing = [lang for lang in wanted if not _readable(tessdata / f"{lang}.traineddata")]
    data = {"engine": engine_version(), "tessdata": str(tessdata), "languages": wanted, "missing": missing}
    if missing:
        return Check("language-data", FAIL, f"missing in {tessdata}: {', '.join(missing)} (engine {data['engine']})",
                     data)
    return Check("language-data", OK, f"{data['engine']}; {'+'.join(wanted)} in {tessdata}", data)


def _readable(path: Path) -> bool:
    """A non-empty file this process can open."""
    try:
        with path.open("rb") as handle:
            return bool(handle.read(1))
    except OSError:
        return False


# --- queue, OpenSearch, Ray ----------------------------------------------------------------


def sqs_region(queue_url: str) -> str | None:
    """The region: AWS_DEFAULT_REGION, AWS_REGION, else the one in an AWS queue URL."""
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    match = re.match(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com", queue_url)
    return region or (match.group(1) if match else None)


def check_queue(settings: Settings | None, options: DoctorOptions) -> Check:
    """The queue answers (and the DLQ's depth, a WARN when it holds messages)."""
    if settings is None or not settings.queue_url:
        return Check("queue", FAIL, "OCR_QUEUE_URL is not set")
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=options.timeout_s, read_timeout=options.timeout_s, retries={"max_attempts": 1})
    try:
        client = boto3.client("sqs", config=config, region_name=sqs_region(settings.queue_url))
        data: dict[str, Any] = {"queue": SqsQueue(client, settings.queue_url).depth()}
        if settings.dlq_url:
            data["dlq"] = SqsQueue(client, settings.dlq_url).depth()
    except Exception as exc:  # botocore raises many unrelated types; all mean "unreachable"
        return Check("queue", FAIL, f"{settings.queue_url}: {_short(exc)}")
    detail = f"visible={data['queue']['visible']} in_flight={data['queue']['in_flight']}"
    if "dlq" in data:
        detail += f" dlq={data['dlq']['visible']}"
        if data["dlq"]["visible"]:
            return Check("queue", WARN, detail + " (messages in the DLQ)", data)
    return Check("queue", OK, detail, data)


def check_opensearch(settings: Settings | None, options: DoctorOptions) -> Check:
    """The cluster answers; WARN when the index does not exist yet."""
    if settings is None:
        return Check("opensearch", FAIL, "no settings")
    try:
        client = make_client(settings.model_copy(update={"opensearch_timeout_s": options.timeout_s}))
        info = client.info()
        exists = bool(client.indices.exists(index=settings.index))
    except Exception as exc:  # transport, auth and TLS errors alike mean "unreachable"
        message = _short(exc)
        for secret in settings.opensearch_secret_values():
            message = message.replace(secret, MASK)
        return Check("opensearch", FAIL, f"{mask_url(settings.opensearch_url)}: {message}")
    version = info.get("version", {}).get("number", "?")
    data = {"version": version, "index": settings.index, "index_exists": exists}
    if not exists:
        return Check("opensearch", WARN, f"version {version}; index {settings.index!r} does not exist", data)
    return Check("opensearch", OK, f"version {version}; index {settings.index!r} exists", data)


def ray_executable() -> str | None:
    """The ``ray`` next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else shutil.which("ray")


def check_ray(options: DoctorOptions) -> Check:
    """``ray status`` against the head (the option, RAY_HEAD_ADDRESS, RAY_ADDRESS, or the local one)."""
    exe = ray_executable()
    if exe is None:
        return Check("ray", FAIL, "ray not found")
    address = options.ray_address or os.environ.get("RAY_HEAD_ADDRESS") or os.environ.get("RAY_ADDRESS", "")
    argv = [exe, "status"] + ([f"--address={address}"] if address else [])
    try:
        proc = _run(argv, options.timeout_s * 3)
    except subprocess.TimeoutExpired:
        return Check("ray", FAIL, f"ray status timed out ({address or 'local'})")
    output = (proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode != 0:
        last = output[-1] if output else f"exit {proc.returncode}"
        return Check("ray", FAIL, f"ray status ({address or 'local'}): {last}", {"output": output[-20:]})
    nodes = sum(1 for line in output if re.match(r"^\s*\d+\s+node_", line))
    cpu = next((line.strip() for line in output if "CPU" in line), "")
    return Check("ray", OK, f"{address or 'local'}: {nodes} node(s) {cpu}".strip(), {"output": output})


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
        check_omp,
        lambda: check_language_data(settings),
        lambda: check_queue(settings, options),
        lambda: check_opensearch(settings, options),
        lambda: check_ray(options),
    ]
    checks += [step() for step in steps]
    return checks


def format_text(checks: Sequence[Check]) -> str:
    """One line per check; the env file and unit logs indented beneath their line."""
    out: list[str] = []
    for check in checks:
        out.append(f"{check.status:<4}  {check.name:<36} {check.detail}")
        for line in check.data.get("lines", []) + check.data.get("logs", []):
            out.append(f"        | {line}")
    failed = sum(check.status == FAIL for check in checks)
    warned = sum(check.status == WARN for check in checks)
    out.append(f"{len(checks)} checks: {failed} FAIL, {warned} WARN")
    return "\n".join(out)


def format_json(checks: Sequence[Check]) -> str:
    """The report as one JSON object."""
    return json.dumps(
        {"ok": exit_code(checks) == 0, "checks": [asdict(check) for check in checks]},
        ensure_ascii=False,
        indent=2,
        default=str,
    )


def exit_code(checks: Sequence[Check]) -> int:
    """1 when any check FAILed, else 0."""
    return 1 if any(check.status == FAIL for check in checks) else 0
