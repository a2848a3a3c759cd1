"""The one OCR stage, called by both runtimes (stream actors and batch ``map_batches``).

fetch -> sniff -> decode or rasterise (with the page's resolution) -> page geometry and
recognition (:mod:`pipeline.engine.reading`) -> clean -> assemble a :class:`Document`.
A stage object is set up once per process (warm engine, one S3 client) and then called per job,
or per page when a runtime spreads a long document over several workers.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from pipeline.engine.documents import OpenedDocument, PageInput
from pipeline.engine.ocr import Engine, engine_for, language_data_version
from pipeline.engine.reading import GeometryOptions, read_page
from pipeline.engine.resolution import at_most
from pipeline.engine.textclean import clean_text
from pipeline.errors import OcrClusterError, from_third_party
from pipeline.models import Document, Job, PageResult, document_id
from pipeline.settings import Settings
from pipeline.sources.s3 import FetchedObject, fetch_object


class OcrStage:
    """Set up once per worker process; turns jobs (or pages) into documents."""

    def __init__(self, settings: Settings, s3: Any = None) -> None:
        self.settings = settings
        self._s3 = s3
        self._engine: Engine | None = None
        self.geometry = GeometryOptions(  # when a page's skew, orientation and direction passes run
            settings.deskew_min_deg, settings.deskew_max_deg, settings.weak_confidence, settings.rotate_min_confidence
        )

    def setup(self) -> None:
        """Load the engine now (a worker does this before taking work)."""
        self.engine  # noqa: B018

    @property
    def engine(self) -> Engine:
        """This process's warm engine."""
        if self._engine is None:
            self._engine = engine_for(self.settings)
        return self._engine


    @property
    def s3(self) -> Any:
        """This process's S3 client."""
        if self._s3 is None:
            from pipeline.awsclients import aws_client

            self._s3 = aws_client("s3", timeout_s=self.settings.s3_timeout_s)
        return self._s3

    def fetch(self, job: Job) -> FetchedObject:
        """Download the job's object under the size cap."""
        return fetch_object(self.s3, job, self.settings.max_object_bytes)

    def open(self, data: bytes) -> OpenedDocument:
        """Sniff and open the bytes under the pixel and page caps."""
        s = self.settings
        return _sorted(lambda: OpenedDocument(data, s.max_pixels, s.max_pages, s.dpi))

    def process(self, job: Job) -> Document:
        """The whole job in this process. Raises :class:`OcrClusterError`."""
        fetched = self.fetch(job)
        return self.process_fetched(job, fetched)

    def process_fetched(self, job: Job, fetched: FetchedObject) -> Document:
        """OCR every page of an already fetched object, in order, one page in memory at a time."""
        started = time.perf_counter()
        with self.open(fetched.data) as doc:
            return self.process_opened(job, fetched, doc, started)

    def process_opened(self, job: Job, fetched: FetchedObject, doc: OpenedDocument, started: float) -> Document:
        """OCR every page of an object already opened (by a runtime that looked at its page count
        first), in order; ``started``: when its processing began (``time.perf_counter``)."""
        pages = [self.recognise(*decode_page(doc, n)) for n in range(1, doc.page_count + 1)]
        return self.assemble(job, fetched, doc.content_type, pages, time.perf_counter() - started)

    def ocr_page(self, data: bytes, page: int) -> PageResult:
        """One page of a document (for runtimes that spread pages over workers)."""
        with self.open(data) as doc:
            return self.recognise(*decode_page(doc, page))

    def recognise(self, page_input: PageInput, decode_s: float = 0.0) -> PageResult:
        """Text for one decoded page: its text layer, or the engine's reading cleaned for search."""
        if page_input.text is not None:
            started = time.perf_counter()
            text = clean_text(page_input.text)
            return PageResult(
                page_input.page, text, None, "text-layer", decode_s=decode_s, clean_s=time.perf_counter() - started
            )
        assert page_input.image is not None
        started = time.perf_counter()
        image, dpi = at_most(page_input.image, page_input.dpi or self.settings.dpi, self.settings.max_read_dpi)
        decode_s += time.perf_counter() - started  # a finer scan's reduction is part of preparing its pixels
        reading = read_page(self.engine, image, dpi, self.settings.page_timeout_s, self.geometry)
        started = time.perf_counter()
        text = clean_text(reading.text)
        geometry = {k: round(v, 4) for k, v in reading.seconds.items() if k != "ocr_s"}
        result = PageResult(
            page=page_input.page,
            text=text,
            confidence=reading.confidence,
            source="ocr" if text else "empty",
            decode_s=decode_s,
            ocr_s=reading.seconds.get("ocr_s", 0.0),
            clean_s=time.perf_counter() - started,
            width=image.width,
            height=image.height,
            warning="; ".join(filter(None, (page_input.warning, reading.warning))),
            dpi=dpi,
            dpi_source=page_input.dpi_source or "setting",
            rotation=reading.rotation,
            skew=reading.skew,
            direction=reading.direction,
            geometry_timings=geometry,
        )
        image.close()
        page_input.image.close()
        return result

    def assemble(
        self, job: Job, fetched: FetchedObject, content_type: str, pages: list[PageResult], seconds: float
    ) -> Document:
        """The document record for a job from its pages, stamped with this process's engine."""
        return assemble_document(job, fetched, content_type, pages, seconds, self.engine_stamp())

    def engine_stamp(self) -> tuple[str, str]:
        """(engine version, languages with their data fingerprints) for the record."""
        s = self.settings
        return self.engine.version, f"{s.languages} ({language_data_version(s.languages, s.tessdata)})"


def warm_stage(settings: Settings, env: dict[str, str] | None = None) -> OcrStage:
    """The stage of a Ray worker process (stream worker, batch and range actors): the driver's
    environment adopted first (``raycluster.adopt_env``), then the engine loaded."""
    from pipeline.fleet.raycluster import adopt_env

    adopt_env(env)
    stage = OcrStage(settings)
    stage.setup()
    return stage


def assemble_document(
    job: Job,
    fetched: FetchedObject,
    content_type: str,
    pages: list[PageResult],
    seconds: float,
    engine_stamp: tuple[str, str],
) -> Document:
    """The document record for a job from its pages (any order; sorted here)."""
    pages = sorted(pages, key=lambda p: p.page)
    version = fetched.version_id or job.version_id
    etag = fetched.etag or job.etag
    return Document(
        doc_id=document_id(job.bucket, job.key, version or etag),
        bucket=job.bucket,
        key=job.key,
        version_id=version,
        etag=etag,
        size=fetched.size,
        content_type=content_type,
        page_count=len(pages),
        text="\n\f\n".join(p.text for p in pages if p.text),
        pages=pages,
        engine=engine_stamp[0],
        languages=engine_stamp[1],
        timings={
            "fetch_s": round(fetched.seconds, 4),
            "decode_s": round(sum(p.decode_s for p in pages), 4),
            "ocr_s": round(sum(p.ocr_s for p in pages), 4),
            "clean_s": round(sum(p.clean_s for p in pages), 4),
            "geometry_s": round(sum(p.geometry_s for p in pages), 4),
            "process_s": round(seconds, 4),
        },
        processed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def decode_page(doc: OpenedDocument, number: int) -> tuple[PageInput, float]:
    """Decode or rasterise one page; returns it with the seconds it took."""
    started = time.perf_counter()
    page_input = _sorted(lambda: doc.page(number))
    return page_input, time.perf_counter() - started


def _sorted(fn):
    """Run ``fn``; sort any foreign exception onto the error tree."""
    try:
        return fn()
    except OcrClusterError:
        raise
    except Exception as exc:
        raise from_third_party(exc) from exc
