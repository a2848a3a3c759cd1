"""After a deploy: a test document goes in at the top and must come out searchable.

A small PNG with a unique key is uploaded under the prefix the bucket's notification announces
(``OCR_SMOKE_PREFIX``: Terraform writes ``<source_prefix>smoke/``, which the operator role may
write); the index is refreshed and searched (term query on the ``key`` keyword field) until the
document appears or the time-out passes; its text must then hold every word of the smoke page
(OCR really ran); the object and the document are removed either way.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import SmokeFailed

if TYPE_CHECKING:
    from PIL import Image

SMOKE_TEXT = "OCR CLUSTER SMOKE TEST"


@dataclass
class SmokeResult:
    """Where the test document went and how long it took to be searchable."""

    bucket: str
    key: str
    seconds: float
    document_ids: list[str]


def smoke_page(text: str = SMOKE_TEXT) -> Image.Image:
    """A small black-on-white page with ``text`` drawn large enough to OCR, in the font Pillow
    ships (no system font: a node's image has none, and needs none)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=48)
    image = Image.new("L", (64 + 32 * len(text), 160), 255)
    ImageDraw.Draw(image).text((32, 48), text, fill=0, font=font)
    return image


def smoke_png(text: str = SMOKE_TEXT) -> bytes:
    """The test page (:func:`smoke_page`) as a 300-DPI PNG."""
    buffer = io.BytesIO()
    smoke_page(text).save(buffer, format="PNG", dpi=(300, 300))
    return buffer.getvalue()


def smoke_key(prefix: str) -> str:
    """A unique object key under ``prefix``."""
    return f"{prefix}ocr-smoke-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}.png"


def find_documents(search: Any, index: str, key: str) -> dict[str, str]:
    """The documents of object ``key``, id -> indexed text (index refreshed first)."""
    search.indices.refresh(index=index)
    answer = search.search(index=index, body={"query": {"term": {"key": key}}, "size": 10})
    return {hit["_id"]: str(hit["_source"].get("text", "")) for hit in answer["hits"]["hits"]}


def missing_words(text: str, expected: str = SMOKE_TEXT) -> list[str]:
    """Words of ``expected`` that ``text`` lacks (case and spacing ignored)."""
    found = set(text.upper().split())
    return [word for word in expected.upper().split() if word not in found]


def wait_searchable(
    search: Any,
    index: str,
    key: str,
    *,
    timeout_s: float,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Poll until the key's documents are found; {} on time-out."""
    from opensearchpy.exceptions import NotFoundError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = find_documents(search, index, key)
        except NotFoundError:
            found = {}
        if found or time.monotonic() >= deadline:
            return found
        sleep(poll_s)


def run(
    s3: Any,
    search: Any,
    *,
    bucket: str,
    index: str,
    prefix: str,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
    report: Callable[[str], None] = print,
) -> SmokeResult:
    """Upload, wait until searchable, check its text, clean up; SmokeFailed when it never appears or
    its text lacks the page's words."""
    key = smoke_key(prefix)
    started = time.monotonic()
    s3.put_object(Bucket=bucket, Key=key, Body=smoke_png(), ContentType="image/png")
    report(f"uploaded s3://{bucket}/{key}; waiting up to {timeout_s:.0f} s for it in index {index}")
    found: dict[str, str] = {}
    try:
        found = wait_searchable(search, index, key, timeout_s=timeout_s, poll_s=poll_s)
    finally:
        cleanup(s3, search, bucket=bucket, key=key, index=index, document_ids=list(found))
    elapsed = time.monotonic() - started
    if not found:
        raise SmokeFailed(f"s3://{bucket}/{key} was not searchable after {timeout_s:.0f} s (object removed)")
    for doc_id, text in found.items():
        if missing := missing_words(text):
            raise SmokeFailed(f"{doc_id} was indexed but its text lacks {' '.join(missing)}: {text[:200]!r}")
    report(f"searchable after {elapsed:.1f} s as {', '.join(found)} with the page's words; object and document removed")
    return SmokeResult(bucket=bucket, key=key, seconds=elapsed, document_ids=list(found))


def cleanup(s3: Any, search: Any, *, bucket: str, key: str, index: str, document_ids: list[str]) -> None:
    """Delete the test object and its documents (a late document is removed by the next run's key only)."""
    s3.delete_object(Bucket=bucket, Key=key)
    for doc_id in document_ids:
        search.delete(index=index, id=doc_id, refresh=True)
