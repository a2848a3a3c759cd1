"""Parquet (pyarrow): documents and one row per page with its timings, local or ``s3://``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.models import Document


def document_row(doc: Document) -> dict[str, Any]:
    """One row per document (text included, pages left to :func:`page_rows`)."""
    return {
        "doc_id": doc.doc_id, "bucket": doc.bucket, "key": doc.key, "version_id": doc.version_id,
        "etag": doc.etag, "size": doc.size, "content_type": doc.content_type, "page_count": doc.page_count,
        "text": doc.text, "engine": doc.engine, "languages": doc.languages, "processed_at": doc.processed_at,
        "sha256": doc.sha256, "reading": doc.reading, "reused_from": doc.reused_from,
        **{k: float(v) for k, v in doc.timings.items()},
    }


def page_rows(doc: Document) -> list[dict[str, Any]]:
    """One timing record per page: what the notebooks read."""
    return [
        {
            "doc_id": doc.doc_id, "key": doc.key, "content_type": doc.content_type, "page": p.page,
            "source": p.source, "confidence": p.confidence, "chars": len(p.text), "width": p.width,
            "height": p.height, "decode_s": p.decode_s, "ocr_s": p.ocr_s, "clean_s": p.clean_s,
            "dpi": p.dpi, "dpi_source": p.dpi_source, "rotation": p.rotation, "skew": p.skew,
            "direction": p.direction, "geometry_s": p.geometry_s,
            "fetch_s": doc.timings.get("fetch_s", 0.0) / max(1, doc.page_count),
        }
        for p in doc.pages
    ]


def write_rows(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write dict rows as one Parquet file (``s3://`` goes through the AWS endpoint in use)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    target = str(path)
    if target.startswith("s3://"):
        pq.write_table(table, target.removeprefix("s3://"), filesystem=s3_filesystem())
        return
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)


def s3_filesystem() -> Any:
    """pyarrow's S3 filesystem bound to the same endpoint and region as boto3."""
    from pyarrow import fs

    kwargs: dict[str, Any] = {"region": os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        kwargs.update(endpoint_override=host, scheme=scheme)
    return fs.S3FileSystem(**kwargs)
