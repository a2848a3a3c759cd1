"""``ocr-cluster validate``: can this node run the service? One line per check, exit 1 on a failure."""

from __future__ import annotations

import os
from collections.abc import Callable

from pipeline.settings import Settings

Check = tuple[str, Callable[[], str]]


def engine_checks(s: Settings) -> list[Check]:
    """Checks that need no network: engine, language data (the reading languages, the vertical
    reader, OSD), one recognised page."""

    def languages() -> str:
        from pipeline.engine.ocr import check_languages, language_data_version, required_languages

        needed = required_languages(s.languages, s.vertical_language, s.detect_orientation)
        check_languages(needed, s.tessdata)
        return language_data_version(needed, s.tessdata)

    def engine() -> str:
        from pipeline.devstack.samples import render_page
        from pipeline.engine.ocr import get_engine

        eng = get_engine(s.languages, s.tessdata, s.engine, s.vertical_language, s.detect_orientation)
        eng.load_readers()
        text = eng.recognise(render_page(["OCR 検証 123"]), s.page_timeout_s).text
        if "123" not in text:
            raise RuntimeError(f"the engine read {text!r} from a test page")
        return eng.version

    def threads() -> str:
        if os.environ.get("OMP_THREAD_LIMIT") != "1":
            raise RuntimeError("OMP_THREAD_LIMIT is not 1")
        return "OMP_THREAD_LIMIT=1"

    return [("language data", languages), ("engine", engine), ("thread budget", threads)]


def online_checks(s: Settings) -> list[Check]:
    """Checks of the queue, OpenSearch and Ray."""

    def queue() -> str:
        from pipeline.awsclients import aws_client
        from pipeline.sources.sqs import SqsQueue

        q = SqsQueue(aws_client("sqs", timeout_s=10, max_attempts=1), s.queue_url, s.dlq_url)
        return f"{q.url} (maxReceiveCount {q.max_receive_count}, DLQ {q.dlq_url})"

    def opensearch() -> str:
        from pipeline.sinks.opensearch import BulkWriter, ensure_index, make_client

        client = make_client(s)
        ensure_index(client, s.index)
        probe = "_ocr-cluster-validate-probe"
        result = BulkWriter(client, s.index, retries=0).write([(probe, {"key": probe, "bucket": "validate"})])[probe]
        if not result.ok:
            raise RuntimeError(f"index {s.index} is not writable: {result.reason}")
        client.delete(index=s.index, id=probe, ignore=[404])
        return f"{s.opensearch_url} index {s.index} writable"

    def ray_cluster() -> str:
        address = os.environ.get("RAY_ADDRESS")
        if not address:
            return "no RAY_ADDRESS: the service will start a local Ray"
        import ray

        ray.init(address=address, logging_level="ERROR")
        try:
            return f"{address}: {ray.cluster_resources().get('CPU', 0):.0f} CPUs"
        finally:
            ray.shutdown()

    return [("queue", queue), ("opensearch", opensearch), ("ray", ray_cluster)]


def run_checks(settings: Settings, offline: bool = False) -> int:
    """Run the checks, print a line each, return 0 when all pass."""
    import pipeline.engine.ocr  # noqa: F401  (sets OMP_THREAD_LIMIT before any engine loads)

    checks = engine_checks(settings) + ([] if offline else online_checks(settings))
    failed = 0
    for name, check in checks:
        try:
            print(f"OK    {name:<14} {check()}")
        except Exception as exc:
            failed += 1
            print(f"FAIL  {name:<14} {type(exc).__name__}: {getattr(exc, 'reason', exc)}")
    return 1 if failed else 0
