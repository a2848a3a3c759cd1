"""The one check framework of ``ocr-cluster validate`` (can this node run the service?) and
``ocr-cluster doctor`` (everything worth knowing when it does not start).

A check is a plain function returning one :class:`Check`: OK, WARN or FAIL with a one-line
detail and optional data. None may hang: each talks to the outside world with a short time-out.
The checks both commands make are here, once; each command picks and orders its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.settings import Settings

OK, WARN, FAIL = "OK", "WARN", "FAIL"
URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
MASK = "****"


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


def mask_url(text: str) -> str:
    """``scheme://user:password@host`` with the user information masked."""
    return URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)


def short(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line (its ``reason`` when it has one), URL passwords masked."""
    text = mask_url(f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}".splitlines()[0])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def probe(name: str, step: Callable[[], str | Check]) -> Check:
    """Run ``step``: its detail (OK) or its own :class:`Check`; any exception is a FAIL naming it."""
    try:
        found = step()
    except Exception as exc:  # a check reports what went wrong; it never raises
        return Check(name, FAIL, short(exc))
    return found if isinstance(found, Check) else Check(name, OK, found)


# --- the engine ----------------------------------------------------------------------------


def check_language_data(settings: Settings) -> Check:
    """Every language file the engine loads (the reading languages, the vertical reader, OSD, the
    Latin reader) is in OCR_TESSDATA and readable; the engine is tesserocr's bundled Tesseract (the
    service runs no CLI)."""
    from pipeline.engine.ocr import language_data_version, required_languages

    wanted = required_languages(settings.languages, settings.vertical_language, settings.detect_orientation,
                                settings.latin_reader)
    tessdata = Path(settings.tessdata)
    missing = [lang for lang in wanted.split("+") if not _readable(tessdata / f"{lang}.traineddata")]
    data = {"engine": engine_version(), "tessdata": str(tessdata), "languages": wanted.split("+"), "missing": missing}
    if missing:
        packages = " ".join(f"tesseract-ocr-{m.replace('_', '-')}" for m in missing)
        return Check("language-data", FAIL, f"missing in {tessdata}: {', '.join(missing)} (Debian: {packages}; "
                                            f"engine {data['engine']})", data)
    try:
        data["fingerprint"] = language_data_version(wanted, str(tessdata))
    except OSError as exc:
        return Check("language-data", FAIL, short(exc), data)
    return Check("language-data", OK, f"{data['engine']}; {data['fingerprint']} in {tessdata}", data)


def check_engine(settings: Settings) -> Check:
    """The engine loads with every reader and reads a test page (drawn in Pillow's own font: the
    node's image installs no CJK font, and this check runs before every worker start)."""

    def read() -> str:
        from pipeline.engine.ocr import engine_for
        from pipeline.ops.smoke import smoke_page

        engine = engine_for(settings)
        engine.load_readers()
        text = engine.recognise(smoke_page("OCR CHECK 123"), settings.page_timeout_s).text
        if "123" not in text:
            raise RuntimeError(f"the engine read {text!r} from a test page")
        return engine.version

    return probe("engine", read)


def check_thread_budget() -> Check:
    """One Tesseract thread per process: ``OMP_THREAD_LIMIT=1`` set before Tesseract was loaded
    (OpenMP reads it once, when the library loads; ~17 s a page instead of ~2 s on 2 cores).
    Importing :mod:`pipeline.engine.ocr` sets the variable, so what can go wrong, and is checked, is
    that Tesseract's library was loaded before that import (``ocr.LIMIT_BEFORE_ENGINE``)."""
    from pipeline.engine import ocr

    if not ocr.LIMIT_BEFORE_ENGINE:
        return Check("thread-budget", FAIL, "Tesseract was loaded before OMP_THREAD_LIMIT=1 was set "
                                            "(something imported tesserocr before pipeline.engine.ocr)")
    return Check("thread-budget", OK, "OMP_THREAD_LIMIT=1, set before Tesseract loaded")


def engine_version() -> str:
    """The Tesseract the service runs: the one bundled in the tesserocr wheel (not a CLI)."""
    try:
        import tesserocr

        return str(tesserocr.tesseract_version()).splitlines()[0]
    except Exception as exc:  # an unloadable wheel is the finding itself
        return f"? ({short(exc)})"


def _readable(path: Path) -> bool:
    """A non-empty file this process can open."""
    try:
        with path.open("rb") as handle:
            return bool(handle.read(1))
    except OSError:
        return False


# --- the queue, OpenSearch, Ray ------------------------------------------------------------


def sqs_region(queue_url: str) -> str | None:
    """The region: AWS_DEFAULT_REGION, AWS_REGION, else the one in an AWS queue URL."""
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    match = re.match(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com", queue_url)
    return region or (match.group(1) if match else None)


def check_queue(settings: Settings | None, timeout_s: float) -> Check:
    """The queue answers and has its redrive policy (the DLQ the service needs); the depths of
    both; WARN when the DLQ holds messages."""
    if settings is None or not settings.queue_url:
        return Check("queue", FAIL, "OCR_QUEUE_URL is not set")
    import boto3
    from botocore.config import Config

    from pipeline.sources.sqs import SqsQueue

    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1})
    try:
        client = boto3.client("sqs", config=config, region_name=sqs_region(settings.queue_url))
        queue = SqsQueue(client, settings.queue_url, settings.dlq_url)
        data: dict[str, Any] = {"queue": queue.depth(), "max_receive_count": queue.max_receive_count,
                                "dlq_url": queue.dlq_url}
        data["dlq"] = SqsQueue(client, queue.dlq_url).depth()
    except Exception as exc:  # botocore raises many unrelated types; all mean "cannot use it"
        return Check("queue", FAIL, f"{settings.queue_url}: {short(exc)}")
    detail = (f"visible={data['queue']['visible']} in_flight={data['queue']['in_flight']} "
              f"maxReceiveCount={data['max_receive_count']} dlq={data['dlq']['visible']}")
    if data["dlq"]["visible"]:
        return Check("queue", WARN, detail + " (messages in the DLQ)", data)
    return Check("queue", OK, detail, data)


def check_opensearch(settings: Settings | None, timeout_s: float, write: bool = False) -> Check:
    """The cluster answers; WARN when the index does not exist yet. ``write``: create the index if
    missing and write (then delete) a probe document, as the service will."""
    if settings is None:
        return Check("opensearch", FAIL, "no settings")
    from pipeline.sinks.opensearch import BulkWriter, ensure_index, make_client

    try:
        client = make_client(settings.model_copy(update={"opensearch_timeout_s": timeout_s}))
        version = client.info().get("version", {}).get("number", "?")
        if write:
            ensure_index(client, settings.index)
            _write_probe(client, settings.index, BulkWriter)
        exists = bool(client.indices.exists(index=settings.index))
    except Exception as exc:  # transport, auth and TLS errors alike mean "unreachable"
        message = short(exc)
        for secret in settings.opensearch_secret_values():
            message = message.replace(secret, MASK)
        return Check("opensearch", FAIL, f"{mask_url(settings.opensearch_url)}: {message}")
    data = {"version": version, "index": settings.index, "index_exists": exists, "written": write}
    if not exists:
        return Check("opensearch", WARN, f"version {version}; index {settings.index!r} does not exist", data)
    return Check("opensearch", OK, f"version {version}; index {settings.index!r} "
                                   f"{'writable' if write else 'exists'}", data)


def _write_probe(client: Any, index: str, writer: Any) -> None:
    probe_id = "_ocr-cluster-validate-probe"
    result = writer(client, index, retries=0).write([(probe_id, {"key": probe_id, "bucket": "validate"})])[probe_id]
    if not result.ok:
        raise RuntimeError(f"index {index} is not writable: {result.reason}")
    client.delete(index=index, id=probe_id, ignore=[404])


def ray_executable() -> str | None:
    """The ``ray`` next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else shutil.which("ray")


def ray_head_address(explicit: str = "") -> str:
    """The Ray head a check asks: ``explicit``, else RAY_HEAD_ADDRESS (a head's env file), else
    RAY_ADDRESS, else "" (the cluster this machine is part of: a worker finds its head at start)."""
    return explicit or os.environ.get("RAY_HEAD_ADDRESS") or os.environ.get("RAY_ADDRESS", "")


def check_ray(address: str, timeout_s: float) -> Check:
    """``ray status`` against ``address`` (the local head when empty)."""
    exe = ray_executable()
    if exe is None:
        return Check("ray", FAIL, "ray not found")
    argv = [exe, "status"] + ([f"--address={address}"] if address else [])
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
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


def format_text(checks: Sequence[Check]) -> str:
    """One line per check (lines and logs in its data indented beneath), then the count."""
    out: list[str] = []
    width = max([14, *(len(check.name) for check in checks)])
    for check in checks:
        out.append(f"{check.status:<4}  {check.name:<{width}} {check.detail}")
        for line in check.data.get("lines", []) + check.data.get("logs", []):
            out.append(f"        | {line}")
    failed = sum(check.status == FAIL for check in checks)
    warned = sum(check.status == WARN for check in checks)
    out.append(f"{len(checks)} checks: {failed} FAIL, {warned} WARN")
    return "\n".join(out)


def format_json(checks: Sequence[Check]) -> str:
    """The report as one JSON object."""
    return json.dumps({"ok": exit_code(checks) == 0, "checks": [asdict(check) for check in checks]},
                      ensure_ascii=False, indent=2, default=str)


def exit_code(checks: Sequence[Check]) -> int:
    """1 when any check FAILed, else 0."""
    return 1 if any(check.status == FAIL for check in checks) else 0
