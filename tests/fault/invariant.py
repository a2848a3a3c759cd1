"""The invariant every fault test ends on: when the queue is quiet, every object is indexed
exactly once (text present) or in the DLQ with a reason of the expected class, and nothing else."""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings
from pipeline.sinks.opensearch import make_client, refresh
from tests.helpers import dlq_reasons, indexed_keys, queue_depth


def assert_invariant(settings: Settings, resources: Any, sqs: Any, good: set[str], bad: dict[str, str]) -> None:
    """``good``: keys that must be indexed once; ``bad``: key -> error class expected in the DLQ."""
    assert queue_depth(sqs, resources.queue_url) == (0, 0), "the queue is not quiet"
    indexed = indexed_keys(settings)
    assert dict(indexed) == dict.fromkeys(good, 1), "indexed exactly once, nothing else"
    reasons = dlq_reasons(sqs, resources.dlq_url)
    assert set(reasons) == set(bad), reasons
    for key, error_class in bad.items():
        assert reasons[key].startswith(error_class + ": "), (key, reasons[key])
        assert len(reasons[key]) > len(error_class) + 5, "a reason a person can read"
    _assert_text_present(settings, good)


def _assert_text_present(settings: Settings, good: set[str]) -> None:
    if not good:
        return
    client = make_client(settings)
    refresh(client, settings.index)
    hits = client.search(index=settings.index, body={"size": 10_000, "_source": ["key", "text"]})["hits"]["hits"]
    empty = [h["_source"]["key"] for h in hits if not h["_source"].get("text")]
    assert not empty, f"indexed without text: {empty}"
