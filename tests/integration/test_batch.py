"""Batch mode on the local stack: a 100+ object prefix (hostile keys, PDFs, a corrupt and a
zero-byte file) backfilled through Ray Data on the session's 2-CPU Ray; reruns index nothing new;
a killed run finishes on restart; a local directory through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from pipeline.batch.run import run_backfill
from pipeline.cli import main
from pipeline.devstack.samples import encode, render_page, text_layer_pdf
from pipeline.sinks.opensearch import make_client, refresh
from pipeline.sources.listing import ListingFilter, list_jobs
from tests import inputs
from tests.helpers import indexed_keys, run_until_idle, upload

pytestmark = [pytest.mark.stack, pytest.mark.ray, pytest.mark.tesseract]

NAMES = ["with space {}.png", "a+b {}.png", "100% {}.png", "請求書 ２月 {}.png", "plain-{}.png", "deep/er/key {}.png"]
BAD = {"bad/broken.jpg": "CorruptDocument", "bad/zero.png": "EmptyObject", "bad/notes.png": "UnsupportedType"}


def prefix_objects(prefix: str = "scans/") -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(good, bad): 100 tiny pages under hostile keys, JPEG/TIFF/PDFs, and three bad objects."""
    good = {prefix + NAMES[i % len(NAMES)].format(i): encode(render_page([f"短い {i}"]), "PNG") for i in range(100)}
    good[prefix + "jpeg/写真 1.jpg"] = encode(render_page(["写真 1"]).convert("RGB"), "JPEG")
    good[prefix + "tiff/two pages.tiff"] = encode([render_page(["一"]), render_page(["二"])], "TIFF")
    good[prefix + "pdf/image only.pdf"] = encode([render_page(["図面 A-1"]), render_page(["縮尺 1:50"])], "PDF")
    good[prefix + "pdf/text layer+.pdf"] = text_layer_pdf(["Quarterly report"])
    jpeg = encode(render_page(["x"]).convert("RGB"), "JPEG")
    bad = {prefix + "bad/broken.jpg": inputs.truncated(jpeg), prefix + "bad/zero.png": b"",
           prefix + "bad/notes.png": inputs.NOT_AN_IMAGE}
    return good, bad


def test_backfill_indexes_every_good_object_once_and_reports_the_bad_ones(settings, resources, s3, ray_local, tmp_path):
    good, bad = prefix_objects()
    upload(s3, resources.bucket, {**good, **bad})
    uri = f"s3://{resources.bucket}/scans/"

    summary = run_backfill(settings, [uri], parquet=str(tmp_path / "out"), progress=False)

    assert indexed_keys(settings) == {key: 1 for key in good}
    assert (summary.listed, summary.processed, summary.failed, summary.skipped) == (len(good) + 3, len(good), 3, 0)
    assert {f["key"]: f["error_class"] for f in summary.failures} == {"scans/" + k: v for k, v in BAD.items()}
    assert summary.pages == len(good) + 2  # the TIFF and the image PDF have two pages each
    failures = pq.read_table(tmp_path / "out" / "failures").to_pylist()
    assert {(f["key"], f["error_class"]) for f in failures} == {("scans/" + k, v) for k, v in BAD.items()}
    assert all(f["reason"] for f in failures)
    documents = pq.read_table(tmp_path / "out" / "documents").to_pylist()
    assert sorted(d["key"] for d in documents) == sorted(good)
    assert len(pq.read_table(tmp_path / "out" / "pages")) == summary.pages

    again = run_backfill(settings, [uri], skip_existing=True, progress=False)
    assert (again.processed, again.skipped, again.failed) == (0, len(good), 3)
    redo = run_backfill(settings, [uri], ListingFilter(include=("*.pdf",)), progress=False)
    assert (redo.listed, redo.processed) == (2, 2)
    assert indexed_keys(settings) == {key: 1 for key in good}


def test_filters_and_limit_choose_what_is_listed(settings, resources, s3, ray_local):
    upload(s3, resources.bucket, {f"f/{n}": inputs.png_page(["短い 1"]) for n in ("a.png", "b.png", "c.jpg", "d.png")})
    uri = f"s3://{resources.bucket}/f/"

    summary = run_backfill(settings, [uri], ListingFilter(include=("*.png",), exclude=("*/b.png",)), limit=1,
                           progress=False)

    assert summary.listed == 1 and indexed_keys(settings) == {"f/a.png": 1}


def test_in_a_versioned_bucket_the_backfill_skips_what_the_stream_indexed(settings, resources, s3, sqs, ray_local):
    bucket = resources.bucket + "-versioned"  # no notifications: moto's events carry no versionId
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    page = inputs.png_page(["短い 1"])
    versions = [s3.put_object(Bucket=bucket, Key=key, Body=page)["VersionId"]
                for key in ("v/kept.png", "v/changed.png", "v/gone.png")]
    versions.append(s3.put_object(Bucket=bucket, Key="v/changed.png", Body=inputs.png_page(["短い 2"]))["VersionId"])
    s3.delete_object(Bucket=bucket, Key="v/gone.png")
    for key, version in zip(("v/kept.png", "v/changed.png", "v/gone.png", "v/changed.png"), versions, strict=True):
        sqs.send_message(QueueUrl=resources.queue_url,  # what AWS's event names: the version put
                         MessageBody=json.dumps({"bucket": bucket, "key": key, "version_id": version}))
    run_until_idle(settings)
    assert indexed_keys(settings) == {"v/kept.png": 1, "v/changed.png": 2, "v/gone.png": 1}

    jobs = {j.key: j.version_id for j in list_jobs(s3, f"s3://{bucket}/v/")}
    summary = run_backfill(settings, [f"s3://{bucket}/v/"], skip_existing=True, progress=False)

    assert jobs == {"v/kept.png": versions[0], "v/changed.png": versions[3]}  # live keys, latest versions
    assert (summary.listed, summary.skipped, summary.processed) == (2, 2, 0)
    assert indexed_keys(settings) == {"v/kept.png": 1, "v/changed.png": 2, "v/gone.png": 1}


def test_a_small_job_goes_without_ray_data_and_keeps_its_guarantees(settings, resources, s3, ray_local, tmp_path,
                                                                     monkeypatch):
    import ray.data

    def no_ray_data(*args, **kwargs):
        raise AssertionError("a small job started Ray Data")

    monkeypatch.setattr(ray.data, "from_items", no_ray_data)
    good, bad = prefix_objects("small/")
    good = {k: v for k, v in good.items() if k.endswith((".tiff", ".jpg")) or k.endswith(" 1.png")}
    upload(s3, resources.bucket, {**good, **bad})
    uri = f"s3://{resources.bucket}/small/"

    summary = run_backfill(settings, [uri], parquet=str(tmp_path / "out"), progress=False)

    assert indexed_keys(settings) == {key: 1 for key in good}
    assert (summary.listed, summary.processed, summary.failed) == (len(good) + 3, len(good), 3)
    assert {f["key"]: f["error_class"] for f in summary.failures} == {"small/" + k: v for k, v in BAD.items()}
    assert summary.pages == len(good) + 1  # the TIFF has two pages
    failures = pq.read_table(tmp_path / "out" / "failures").to_pylist()
    assert {(f["key"], f["error_class"]) for f in failures} == {("small/" + k, v) for k, v in BAD.items()}
    assert sorted(d["key"] for d in pq.read_table(tmp_path / "out" / "documents").to_pylist()) == sorted(good)
    assert len(pq.read_table(tmp_path / "out" / "pages")) == summary.pages
    again = run_backfill(settings, [uri], skip_existing=True, progress=False)
    assert (again.processed, again.skipped, again.failed) == (0, len(good), 3)


@pytest.mark.slow
def test_a_killed_backfill_finishes_on_restart_without_redoing_work(settings, resources, s3, ray_local):
    tiff = encode([render_page(inputs.KNOWN_LINES)] * 4, "TIFF")
    keys = [f"long/doc {i:02d}.tiff" for i in range(48)]
    upload(s3, resources.bucket, dict.fromkeys(keys, tiff))
    uri = f"s3://{resources.bucket}/long/"
    env = {**os.environ, "OCR_INDEX": settings.index, "OCR_OPENSEARCH_URL": settings.opensearch_url}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "backfill", uri, "--cpus", "2", "--no-progress"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for_documents(settings, at_least=1, proc=proc, timeout_s=150)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = sum(indexed_keys(settings).values())
    assert 0 < done_before < len(keys), "the first run was not interrupted mid-way"

    summary = run_backfill(settings, [uri], skip_existing=True, progress=False)

    assert summary.skipped >= done_before and summary.processed == len(keys) - summary.skipped
    assert indexed_keys(settings) == dict.fromkeys(keys, 1)


def _wait_for_documents(settings, at_least: int, proc: subprocess.Popen, timeout_s: float) -> bool:
    client = make_client(settings)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if client.indices.exists(index=settings.index):
            refresh(client, settings.index)
            if client.count(index=settings.index)["count"] >= at_least:
                return True
        time.sleep(0.2)
    return False


def test_a_local_directory_through_the_cli(settings, ray_local, tmp_path, monkeypatch, capsys):
    root = tmp_path / "docs"
    (root / "sub dir").mkdir(parents=True)
    (root / "sub dir" / "請求書.png").write_bytes(inputs.png_page(["請求書 1"]))
    (root / "a+b.png").write_bytes(inputs.png_page(["短い 2"]))
    (root / "empty.png").write_bytes(b"")
    monkeypatch.setenv("OCR_INDEX", settings.index)

    assert main(["backfill", str(root), "--json", "--no-progress"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["backfill", str(root), "--json", "--no-progress", "--skip-existing"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert main(["backfill", str(root), "--json", "--no-progress", "--modified-since", "2999-01-01"]) == 0
    third = json.loads(capsys.readouterr().out)
    assert main(["backfill", str(root), "--json", "--skip-existing"]) == 0
    watched = capsys.readouterr().err  # what a person watching sees before the first page

    assert (first["processed"], first["failed"], first["failures_by_class"]) == (2, 1, {"EmptyObject": 1})
    assert (second["processed"], second["skipped"]) == (0, 2)
    assert third["listed"] == 0
    assert "listed 3 objects in " in watched and "2 already indexed, 1 to do" in watched, watched
    assert indexed_keys(settings) == {"sub dir/請求書.png": 1, "a+b.png": 1}


def test_a_source_that_is_neither_s3_nor_a_directory_exits_2(settings, ray_local, tmp_path, monkeypatch):
    monkeypatch.setenv("OCR_INDEX", settings.index)
    assert main(["backfill", str(tmp_path / "missing"), "--no-progress"]) == 2


CONTRACT_PAGES = 12


def assert_contract_whole_once(settings, parquet) -> None:
    """long/contract.pdf as one document: its 12 pages, each with its own text, in order, once,
    in the index and in the Parquet document and page rows."""
    client = make_client(settings)
    refresh(client, settings.index)
    hits = client.search(index=settings.index, body={"query": {"term": {"key": "long/contract.pdf"}}})["hits"]["hits"]
    assert len(hits) == 1, "one document for the object, not one per range"
    source = hits[0]["_source"]
    assert source["page_count"] == CONTRACT_PAGES
    assert [p["page"] for p in source["pages"]] == list(range(1, CONTRACT_PAGES + 1)), "every page, in order, once"
    assert all(f"page {p['page']}" in p["text"] for p in source["pages"]), "each page's own text"
    positions = [source["text"].find(f"long contract page {n}") for n in range(1, CONTRACT_PAGES + 1)]
    assert -1 not in positions and positions == sorted(positions), "the document's text in page order"
    documents = [d for d in pq.read_table(parquet / "documents").to_pylist() if d["key"] == "long/contract.pdf"]
    assert [(d["doc_id"], d["page_count"]) for d in documents] == [(hits[0]["_id"], CONTRACT_PAGES)]
    pages = [p for p in pq.read_table(parquet / "pages").to_pylist() if p["key"] == "long/contract.pdf"]
    assert sorted(p["page"] for p in pages) == list(range(1, CONTRACT_PAGES + 1)), "one page row per page"
    assert all(p["chars"] > 0 for p in pages), "every page row was read"


def test_a_long_pdf_is_read_in_page_ranges_over_the_pool_and_indexed_whole(
    settings, resources, s3, ray_local, tmp_path
):
    settings = settings.model_copy(update={"split_pages": 9})  # the contract: pages 1-9 and 10-12
    contract = encode([render_page([f"長い契約書 第{n}頁", f"long contract page {n}"])
                       for n in range(1, CONTRACT_PAGES + 1)], "PDF")
    nine = encode([render_page([f"短い {n}"]) for n in range(9)], "PDF")  # not over the split: read whole
    upload(s3, resources.bucket, {"long/contract.pdf": contract, "long/nine.pdf": nine,
                                  "long/note.png": encode(render_page(["メモ"]), "PNG")})

    summary = run_backfill(settings, [f"s3://{resources.bucket}/long/"], parquet=str(tmp_path / "out"))

    assert (summary.processed, summary.failed, summary.pages) == (3, 0, CONTRACT_PAGES + 9 + 1)
    assert indexed_keys(settings) == {"long/contract.pdf": 1, "long/nine.pdf": 1, "long/note.png": 1}
    assert_contract_whole_once(settings, tmp_path / "out")

    # One object alone still spreads over the pool, and lands on the same document, whole again.
    alone = run_backfill(settings, [f"s3://{resources.bucket}/long/"], ListingFilter(include=("*/contract.pdf",)),
                         parquet=str(tmp_path / "alone"))
    assert (alone.listed, alone.processed, alone.pages) == (1, 1, CONTRACT_PAGES)
    assert indexed_keys(settings) == {"long/contract.pdf": 1, "long/nine.pdf": 1, "long/note.png": 1}
    assert_contract_whole_once(settings, tmp_path / "alone")
