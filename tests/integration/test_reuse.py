"""Work never done twice, on the local stack (moto, osmem-server, real Ray, real Tesseract): a
copy of an indexed object under another key is indexed with the original's pages and text and no
engine call (counted by the engine seam), and a duplex scan's blank back is not read."""

from __future__ import annotations

import pytest

from benchmarks.blank import blank_pages, faint_lines
from pipeline.devstack.samples import encode
from pipeline.models import document_id
from pipeline.sinks.opensearch import make_client, refresh
from tests import inputs
from tests.fault import engines
from tests.helpers import queue_depth, run_until_idle, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract]

COUNTING = {"engine": "tests.fault.engines:CountingEngine", "detect_orientation": False, "vertical_language": ""}


def _sources(settings) -> dict[str, dict]:
    client = make_client(settings)
    refresh(client, settings.index)
    hits = client.search(index=settings.index, body={"size": 100})["hits"]["hits"]
    return {h["_source"]["key"]: {**h["_source"], "_id": h["_id"]} for h in hits}


def test_a_copy_is_indexed_with_the_originals_text_and_no_engine_call(settings, resources, s3, sqs, ray_local):
    settings = settings.model_copy(update=COUNTING)
    faint = faint_lines(["秘密保持 Contract 2024"], 200, a4=True)
    back = next(p.decoded()[0][0] for p in blank_pages() if p.name == "blank-holes-dust-jpeg")
    original = inputs.png_page()
    engines.ENGINE_CALLS.unlink(missing_ok=True)
    upload(s3, resources.bucket, {"a/invoice.png": original, "a/duplex.tif": encode([faint, back.convert("L")],
                                                                                       "TIFF")})
    run_until_idle(settings)
    first_calls = engines.engine_calls()
    engines.ENGINE_CALLS.unlink(missing_ok=True)
    upload(s3, resources.bucket, {"b/copy of invoice.png": original})

    service = run_until_idle(settings)

    docs = _sources(settings)
    copy, first = docs["b/copy of invoice.png"], docs["a/invoice.png"]
    assert engines.engine_calls() == 0 and first_calls == 2  # the invoice and the duplex front; not its back
    assert copy["reused_from"] == first["_id"] == document_id(resources.bucket, "a/invoice.png", first["etag"])
    assert copy["_id"] != first["_id"] and copy["text"] == first["text"] and "128,400" in copy["text"]
    assert copy["sha256"] == first["sha256"] and copy["reading"] == first["reading"]
    assert copy["pages"][0]["text"] == first["pages"][0]["text"] and copy["pages"][0]["timings"]["ocr_s"] == 0
    assert service.metrics.skipped["reused_documents"] == 1 and service.metrics.skipped["saved_seconds"] > 0
    front, blank = docs["a/duplex.tif"]["pages"]
    assert front["source"] == "ocr" and front["text"] and blank["source"] == "blank" and blank["text"] == ""
    assert queue_depth(sqs, resources.queue_url) == (0, 0)

