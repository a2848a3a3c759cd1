"""Work not done: duplicates (the same bytes under other keys) and blank pages, counted and timed.

    python -m benchmarks.reuse --pages 12 --duplicates 4 --blank 4

The corpus (``benchmarks.corpus.generate``) plus copies of its first ``--duplicates`` documents
under ``copies/`` and ``--blank`` two-page duplex scans whose backs are blank (noise, dust, hole
shadows), read from a directory in one process twice: with reuse and the ink test off, then on
(OpenSearch, osmem-server here, as the lookup: each document indexed and refreshed before the
next, as a stream settles them). Prints objects and pages skipped and the engine seconds saved.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.blank import blank_pages, faint_lines
from benchmarks.corpus import generate
from pipeline.devstack.samples import encode
from pipeline.engine.stage import OcrStage
from pipeline.errors import OcrClusterError
from pipeline.settings import Settings
from pipeline.sources.fetch import fetch_local
from pipeline.sources.listing import ListingFilter, list_local


def write_corpus(root: Path, pages: int, duplicates: int, blank: int) -> None:
    """The corpus, its copies and the duplex scans as files under ``root`` (copies sort last)."""
    docs = generate(pages)
    for doc in docs:
        (root / doc.key).parent.mkdir(parents=True, exist_ok=True)
        (root / doc.key).write_bytes(doc.data)
    for n, doc in enumerate(docs[:duplicates]):
        copy = root / "zz-copies" / f"{n}-{Path(doc.key).name}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(doc.data)
    backs = [p for p in blank_pages() if p.name in ("blank-white", "blank-fax-tiff", "blank-show-through")]
    for n in range(blank):
        front = faint_lines([f"両面原稿 Duplex {n:03d}", "秘密保持契約 第1条"], 120, a4=True)
        back = backs[n % len(backs)].decoded()[0][0].convert("L")
        back.info.pop("compression", None)  # a fax's G4 does not encode grey
        (root / "duplex").mkdir(exist_ok=True)
        (root / "duplex" / f"scan-{n:03d}.tif").write_bytes(encode([front, back], "TIFF"))


def run_pass(root: Path, settings: Settings, prior=None) -> dict[str, float]:
    """Read every file of ``root`` in order; with ``prior``, index each document before the next."""
    from pipeline.sinks.opensearch import BulkWriter, ensure_index, make_client, refresh

    stage = OcrStage(settings, prior=prior)
    stage.setup()
    client = make_client(settings)
    ensure_index(client, settings.index)
    writer = BulkWriter.from_settings(settings, client)
    totals = {"failed": 0, "objects": 0, "pages": 0, "seconds": 0.0, "reused_documents": 0, "reused_pages": 0,
              "blank_pages": 0, "saved_seconds": 0.0}
    for job in list_local(str(root), ListingFilter()):
        fetched = fetch_local(job, settings.max_object_bytes)
        started = time.perf_counter()
        try:
            doc = stage.process_fetched(job, fetched)
        except OcrClusterError as exc:  # a noisy blank page can outlast the page time-out
            totals["seconds"] += time.perf_counter() - started
            totals["failed"] += 1
            print(f"  {job.key}: {exc.error_class}: {exc.reason}")
            continue
        totals["seconds"] += time.perf_counter() - started
        writer.write([(doc.doc_id, doc.to_source())])
        refresh(client, settings.index)
        totals["objects"] += 1
        totals["pages"] += doc.page_count
        for name, value in doc.skipped_work().items():
            totals[name] += value
    return totals


def main(argv: list[str] | None = None) -> int:
    """Both passes, then the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=12)
    p.add_argument("--duplicates", type=int, default=4)
    p.add_argument("--blank", type=int, default=4)
    p.add_argument("--page-timeout", type=float, default=20.0, help="engine seconds a page (OCR_PAGE_TIMEOUT_S)")
    args = p.parse_args(argv)
    from pipeline.devstack.stack import start_stack
    from pipeline.sinks.opensearch import OpenSearchReadings

    stack = start_stack()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_corpus(root, args.pages, args.duplicates, args.blank)
            base = Settings(opensearch_url=stack.opensearch_url, index="reuse-" + uuid.uuid4().hex[:8],
                            page_timeout_s=args.page_timeout)
            off = run_pass(root, base.model_copy(update={"reuse_duplicates": False, "skip_blank": False}))
            on_settings = base.model_copy(update={"index": base.index + "-on"})
            on = run_pass(root, on_settings, OpenSearchReadings.from_settings(on_settings))
    finally:
        stack.stop()
    print(f"{'':<24}{'objects':>8}{'failed':>7}{'pages':>7}{'seconds':>9}{'reused obj/pages':>18}{'blank pages':>13}")
    for name, t in (("reuse + ink test off", off), ("reuse + ink test on", on)):
        print(f"{name:<24}{t['objects']:>8}{t['failed']:>7}{t['pages']:>7}{t['seconds']:>9.2f}"
              f"{t['reused_documents']:>11}/{t['reused_pages']:<6}{t['blank_pages']:>13}")
    print(f"seconds saved: {off['seconds'] - on['seconds']:.2f} of {off['seconds']:.2f} "
          f"({1 - on['seconds'] / off['seconds']:.0%}); engine seconds the reused readings had cost: "
          f"{on['saved_seconds']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
