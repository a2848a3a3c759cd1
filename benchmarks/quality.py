"""Quality of what was indexed: character error rate per page against the known text, and
findability: a search for a document's Japanese word, English word and number finds it in the top 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.corpus import BenchDoc
from pipeline.engine.quality import character_error_rate

TOP_N = 10


@dataclass
class IndexedDoc:
    """A document as read back from the index: its id and the text of each page."""

    doc_id: str
    key: str
    pages: dict[int, str]


def read_back(client: Any, index: str) -> dict[str, IndexedDoc]:
    """Every indexed document by key (after a refresh, so it is searchable)."""
    from pipeline.sinks.opensearch import refresh

    refresh(client, index)
    body = {"size": 10_000, "_source": ["key", "pages"], "query": {"match_all": {}}}
    hits = client.search(index=index, body=body)["hits"]["hits"]
    out = {}
    for hit in hits:
        src = hit["_source"]
        pages = {int(p["page"]): p.get("text") or "" for p in src.get("pages") or []}
        out[src["key"]] = IndexedDoc(hit["_id"], src["key"], pages)
    return out


def search_query(doc: BenchDoc) -> dict[str, Any]:
    """The query for one document: its Japanese word in ``text.ja`` AND each English word in ``text``."""
    must: list[dict[str, Any]] = [{"match": {"text.ja": {"query": doc.query.ja, "operator": "and"}}}]
    must += [{"match": {"text": {"query": word, "operator": "and"}}} for word in doc.query.en]
    return {"bool": {"must": must}}


def found(client: Any, index: str, doc: BenchDoc, doc_id: str | None) -> bool:
    """Whether the document is among the top ``TOP_N`` hits of its query."""
    if doc_id is None:
        return False
    body = {"size": TOP_N, "_source": False, "query": search_query(doc)}
    hits = client.search(index=index, body=body)["hits"]["hits"]
    return any(h["_id"] == doc_id for h in hits)


def page_cer(docs: list[BenchDoc], texts: dict[tuple[str, int], str]) -> dict[tuple[str, int], float]:
    """CER of each page whose text we have (a page missing from ``texts`` is not scored here)."""
    return {
        (d.key, n): character_error_rate(expected, texts[(d.key, n)])
        for d in docs
        for n, expected in enumerate(d.pages, 1)
        if (d.key, n) in texts
    }


def evaluate_index(client: Any, index: str, docs: list[BenchDoc]) -> tuple[dict, dict[str, bool]]:
    """(CER by (key, page), found by key) for what the pipeline indexed; a missing doc counts as not found."""
    indexed = read_back(client, index)
    texts = {(k, n): t for k, d in indexed.items() for n, t in d.pages.items()}
    cer = page_cer(docs, texts)
    hits = {d.key: found(client, index, d, indexed[d.key].doc_id if d.key in indexed else None) for d in docs}
    return cer, hits


def summarise_quality(docs: list[BenchDoc], cer: dict[tuple[str, int], float], hits: dict[str, bool]) -> dict:
    """Mean CER (clean pages, degraded pages, by kind) and the share of documents found."""
    kinds = {d.key: (d.kind, d.clean) for d in docs}

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    by_kind: dict[str, list[float]] = {}
    for (key, _), value in cer.items():
        by_kind.setdefault(kinds[key][0], []).append(value)
    return {
        "cer_clean": mean([v for (k, _), v in cer.items() if kinds[k][1]]),
        "cer_degraded": mean([v for (k, _), v in cer.items() if not kinds[k][1]]),
        "cer_by_kind": {k: mean(v) for k, v in sorted(by_kind.items())},
        "findability": round(sum(hits.values()) / len(hits), 4) if hits else None,
        "findability_clean": _share([hits[d.key] for d in docs if d.clean and d.key in hits]),
        "documents_found": sum(hits.values()),
        "documents": len(hits),
        "not_found": sorted(k for k, v in hits.items() if not v),
        "by_kind": {kind: {"cer": mean(values), "documents": sum(1 for d in docs if d.kind == kind and d.key in hits),
                           "found": sum(1 for d in docs if d.kind == kind and hits.get(d.key))}
                    for kind, values in sorted(by_kind.items())},
    }


def _share(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
