"""Pages as scanners make them, through the stream path (S3 event -> SQS -> Ray workers ->
OpenSearch): each page found by a search for its own words, its geometry in the index."""

from __future__ import annotations

import pytest

from benchmarks import scanned
from pipeline.engine.quality import character_error_rate
from pipeline.sinks.opensearch import make_client, refresh
from tests.helpers import dlq_reasons, indexed_keys, run_until_idle, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract, pytest.mark.slow]



def search(client, index: str, words: tuple[str, ...]) -> list[str]:
    """Keys of the top 10 documents holding every word (numbers in ``text``, the rest in ``text.ja``)."""
    must = [{"match": {"text" if w.isdigit() else "text.ja": {"query": w, "operator": "and"}}} for w in words]
    hits = client.search(index=index, body={"size": 10, "_source": ["key"], "query": {"bool": {"must": must}}})
    return [h["_source"]["key"] for h in hits["hits"]["hits"]]


def test_scanned_pages_are_found_by_their_words_through_the_stream(settings, resources, s3, sqs, ray_local):
    pages = scanned.scanned_pages(lines=8, prefix="incoming/scans/")
    upload(s3, resources.bucket, {p.key: p.data for p in pages})

    run_until_idle(settings)

    assert indexed_keys(settings) == {p.key: 1 for p in pages}
    assert dlq_reasons(sqs, resources.dlq_url) == {}
    client = make_client(settings)
    refresh(client, settings.index)
    sources = {h["_source"]["key"]: h["_source"] for h in client.search(
        index=settings.index, body={"size": 100, "query": {"match_all": {}}})["hits"]["hits"]}
    for page in pages:
        found = [w for w in page.words if page.key in search(client, settings.index, (w,))]
        assert len(found) >= len(page.words) - 1, (page.kind, found, sources[page.key]["text"])
        cer = character_error_rate(page.text, sources[page.key]["text"])
        assert cer <= scanned.cer_bound(page.kind), (page.kind, cer, sources[page.key]["text"])
    lie = {p.kind: sources[p.key]["pages"][0] for p in pages}
    assert (lie["rotated-180"]["rotation"], lie["rotated-90"]["rotation"]) == (180, 270)
    assert abs(lie["skewed-10"]["skew"]) >= 9.5
    assert (lie["vertical"]["direction"], lie["mixed"]["direction"]) == ("vertical", "mixed")
    nodpi = lie["upright-200-nodpi"]
    assert (nodpi["dpi"], nodpi["dpi_source"]) == (300, "paper-size")  # 200 by its paper size, read at 300
    assert set(lie["upright-300"]["timings"]) == {"decode_s", "ocr_s", "skew_s", "ink_s"}
