"""OpenSearch faults through the proxy in front of osmem-server: the bulk writer must retry what
is transient, split what is too large, and report exactly which documents failed."""

from __future__ import annotations

import json
import threading

import pytest

from pipeline.settings import Settings
from pipeline.sinks.opensearch import BulkWriter, ensure_index, make_client, refresh
from tests.fault.proxy import Delay, FaultProxy, Request, Reset, Respond, Rewrite

pytestmark = pytest.mark.stack

DOCS = [(f"doc-{i}", {"key": f"k/{i}", "bucket": "b", "text": f"本文 {i} " * 20}) for i in range(12)]


def is_bulk(r: Request) -> bool:
    return r.path.split("?")[0].endswith("/_bulk")


class Once:
    """A rule that fires on the first ``times`` bulk requests only."""

    def __init__(self, action: object, times: int = 1) -> None:
        self.action, self.left, self.lock = action, times, threading.Lock()

    def __call__(self, r: Request) -> object:
        with self.lock:
            if not is_bulk(r) or self.left <= 0:
                return None
            self.left -= 1
            return self.action


@pytest.fixture
def proxy(stack):
    with FaultProxy(stack.opensearch_url) as p:
        yield p


@pytest.fixture
def writer(proxy, settings):
    client = make_client(Settings(opensearch_url=proxy.url, opensearch_timeout_s=1.0))
    ensure_index(client, settings.index)
    return BulkWriter(client, settings.index, retries=4, sleep=lambda s: None)


def stored(settings) -> int:
    client = make_client(settings)
    refresh(client, settings.index)
    return client.count(index=settings.index)["count"]


def every_other_item_429(status: int, body: bytes) -> tuple[int, bytes]:
    data = json.loads(body)
    for item in data["items"][::2]:
        inner = next(iter(item.values()))
        inner.update(status=429, error={"type": "es_rejected_execution_exception", "reason": "queue full"})
    data["errors"] = True
    return 200, json.dumps(data).encode()


@pytest.mark.parametrize(
    "action",
    [Rewrite(every_other_item_429), Respond(429, b'{"error": "too many"}'), Respond(502), Respond(503),
     Reset(), Delay(2.5)],
    ids=["item-429", "request-429", "502", "503", "reset", "timeout"],
)
def test_transient_faults_are_retried_until_every_document_is_in(proxy, writer, settings, action) -> None:
    proxy.rules.append(Once(action, times=2))
    results = writer.write(DOCS)
    assert all(r.ok for r in results.values()), [r for r in results.values() if not r.ok]
    assert stored(settings) == len(DOCS)
    assert writer.requests_sent >= 3


def test_a_200_with_item_errors_is_not_success(proxy, settings) -> None:
    client = make_client(Settings(opensearch_url=proxy.url))
    ensure_index(client, settings.index)
    proxy.rules.append(lambda r: Rewrite(every_other_item_429) if is_bulk(r) else None)
    results = BulkWriter(client, settings.index, retries=0).write(DOCS)
    failed = {d for d, r in results.items() if not r.ok}
    assert failed == {f"doc-{i}" for i in range(0, 12, 2)}
    assert all(results[d].retryable and results[d].error_class == "IndexUnavailable" for d in failed)
    assert "429" in results["doc-0"].reason


def test_too_large_requests_are_split(proxy, writer, settings) -> None:
    limit = 1500
    too_large = Respond(413, b'{"error": "too large"}')
    proxy.rules.append(lambda r: too_large if is_bulk(r) and len(r.text()) > limit else None)
    results = writer.write(DOCS)
    assert all(r.ok for r in results.values())
    assert stored(settings) == len(DOCS)
    sent = [r for r in proxy.seen if is_bulk(r) and len(r.text()) <= limit]
    assert len(sent) >= 2


def test_a_lasting_outage_fails_every_document_as_retryable(proxy, writer) -> None:
    proxy.rules.append(lambda r: Respond(503) if is_bulk(r) else None)
    results = writer.write(DOCS)
    assert {r.error_class for r in results.values()} == {"IndexUnavailable"}
    assert all(r.retryable and not r.ok for r in results.values())
    assert writer.requests_sent == 5  # one try and four retries


def test_a_rejected_document_fails_alone(writer, settings) -> None:
    bad = ("bad", {"key": "k/bad", "no_such_field": 1})
    results = writer.write([*DOCS[:3], bad])
    assert [d for d, r in results.items() if not r.ok] == ["bad"]
    assert results["bad"].error_class == "IndexRejected" and not results["bad"].retryable
    assert stored(settings) == 3


def test_create_conflict_counts_as_done(proxy, settings) -> None:
    client = make_client(settings)
    ensure_index(client, settings.index)
    BulkWriter(client, settings.index).write(DOCS[:2])
    results = BulkWriter(client, settings.index, op="create").write(DOCS[:3])
    assert all(r.ok for r in results.values())
    assert results["doc-0"].status == 409 and results["doc-2"].status == 201
