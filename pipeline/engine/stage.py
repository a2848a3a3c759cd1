"""The one OCR stage, called by both runtimes (stream actors and batch ``map_batches``).

fetch -> sniff -> decode or rasterise (with the page's resolution) -> page geometry and
recognition (:mod:`pipeline.engine.reading`) -> clean -> assemble a :class:`Document`.
A stage object is set up once per process (warm engine, one S3 client) and then called per job,
or per page when a runtime spreads a long document over several workers.

Work is never done twice: an object whose bytes (``sha256``) were already read with the same
settings (:func:`reading_stamp`) reuses that reading, found through an optional
:class:`PriorReadings` lookup the runtime's wiring gives the stage (OpenSearch's is
:class:`pipeline.sinks.opensearch.OpenSearchReadings`, wired by ``fleet.raycluster.warm_stage``;
the stage itself does no I/O of sources or sinks: it is handed the bytes); a page the ink test
(:mod:`pipeline.engine.blank`) finds blank is not given to the engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import NamedTuple, Protocol

from PIL import Image

from pipeline.engine.blank import DarkGround, InkReading, dark_ground, ink_test, whitened_paper
from pipeline.engine.documents import OpenedDocument, at_read_resolution, is_long
from pipeline.engine.geometry import Reductions, inverted
from pipeline.engine.ocr import Engine, engine_for, language_data_version
from pipeline.engine.reading import GeometryOptions, read_page
from pipeline.engine.stamps import STAMPS_READ_THROUGH
from pipeline.engine.textclean import clean_text
from pipeline.errors import OcrClusterError, from_third_party
from pipeline.models import Document, FetchedObject, Job, PageInput, PageResult, PriorReading, document_id
from pipeline.settings import Settings

log = logging.getLogger("ocr_cluster.stage")

# Settings that change what a page reads as: part of the reading stamp, so a reading is reused
# only under the settings it was made with. A new setting of that kind belongs here.
READING_SETTINGS = (
    "languages", "engine", "vertical_language", "detect_orientation", "deskew_min_deg", "deskew_max_deg",
    "weak_confidence", "rotate_min_confidence", "dpi", "max_pixels", "skip_blank", "invert_pass", "max_read_dpi",
    "lstm_dictionary", "retry_certainty", "latin_reader", "invert_where_dark", "min_read_dpi",
    "drop_stamps", "whiten_paper",
)
# Reading settings added after readings were stored, with the value those readings were made at:
# such a setting enters the stamp only when set otherwise, so adding one keeps earlier stamps.
LATER_READING_SETTINGS = {"latin_reader": "", "invert_where_dark": False, "min_read_dpi": 0, "drop_stamps": False,
                          "whiten_paper": False}


class EngineStamp(NamedTuple):
    """What a document was read with: the engine's version, its languages with their data
    fingerprints, and ``reading``: a digest of those and of every :data:`READING_SETTINGS`."""

    engine: str
    languages: str
    reading: str


class PriorReadings(Protocol):
    """A prior reading by digest (the stage's only look outside itself; may raise)."""

    def find(self, sha256: str, reading: str, exclude_doc_id: str) -> PriorReading | None:
        """A document other than ``exclude_doc_id`` whose bytes had ``sha256`` and were read
        under the stamp ``reading``; None when there is none."""


class OcrStage:
    """Set up once per worker process; turns jobs (or pages) into documents."""

    def __init__(self, settings: Settings, prior: PriorReadings | None = None) -> None:
        self.settings = settings
        self.prior = prior  # where earlier readings of the same bytes are found (None: never reused)
        self._engine: Engine | None = None
        self._stamp: EngineStamp | None = None
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


    def open(self, data: bytes) -> OpenedDocument:
        """Sniff and open the bytes under the pixel and page caps."""
        s = self.settings
        return _sorted(lambda: OpenedDocument(data, s.max_pixels, s.max_pages, s.dpi, s.drop_stamps))

    def process_fetched(self, job: Job, fetched: FetchedObject) -> Document:
        """OCR every page of an already fetched object, in order, one page in memory at a time
        (or reuse an earlier reading of the same bytes)."""
        document = self.read_or_defer(job, fetched, split_pages=0)
        assert isinstance(document, Document)  # split_pages=0: never deferred
        return document

    def read_or_defer(self, job: Job, fetched: FetchedObject, split_pages: int,
                      look_up: bool = True) -> Document | LongDocument:
        """The job's document: an earlier reading of its bytes reused (``look_up``: the runtime has
        not looked already), or read whole; or, for a long document (``documents.is_long``), only
        opened and counted: the :class:`LongDocument` for the runtime to spread over its workers
        in page ranges (:mod:`pipeline.engine.split`)."""
        reused = self.reuse(job, fetched) if look_up else None
        if reused is not None:
            return reused
        started = time.perf_counter()
        with self.open(fetched.data) as opened:
            if not is_long(opened.page_count, split_pages):
                return self.process_opened(job, fetched, opened, started)
            return LongDocument.opened(self, job, fetched, opened, started)

    def process_opened(self, job: Job, fetched: FetchedObject, doc: OpenedDocument, started: float) -> Document:
        """OCR every page of an object already opened (by a runtime that looked at its page count
        first), in order; ``started``: when its processing began (``time.perf_counter``)."""
        pages = [self.recognise(*decode_page(doc, n)) for n in range(1, doc.page_count + 1)]
        return self.assemble(job, fetched, doc.content_type, pages, time.perf_counter() - started)

    def ocr_page(self, data: bytes, page: int) -> PageResult:
        """One page of a document (for runtimes that spread pages over workers)."""
        with self.open(data) as doc:
            return self.recognise(*decode_page(doc, page))

    def reuse(self, job: Job, fetched: FetchedObject) -> Document | None:
        """The job's document made from an earlier reading of the same bytes under the same
        settings, without the engine; None when there is none, reuse is off, or the lookup
        fails (logged: the object is then read as usual, nothing is lost)."""
        if self.prior is None or not fetched.sha256:
            return None
        started = time.perf_counter()
        stamp = self.engine_stamp()
        try:
            prior = self.prior.find(fetched.sha256, stamp.reading, fetched_document_id(job, fetched))
        except Exception as exc:
            log.warning("prior reading lookup failed; the object is read", extra={
                "key": job.key, "error": f"{type(exc).__name__}: {exc}"[:300]})
            return None
        if prior is None:
            return None
        return reused_document(job, fetched, prior, time.perf_counter() - started, stamp)

    def recognise(self, page_input: PageInput, decode_s: float = 0.0) -> PageResult:
        """Text for one decoded page: its text layer, nothing for a page the ink test finds blank,
        or the engine's reading cleaned for search."""
        if page_input.text is not None:
            started = time.perf_counter()
            text = clean_text(page_input.text)
            return PageResult(
                page_input.page, text, None, "text-layer", decode_s=decode_s, clean_s=time.perf_counter() - started
            )
        assert page_input.image is not None
        started = time.perf_counter()
        image, dpi = at_read_resolution(page_input.image, page_input.dpi or self.settings.dpi, page_input.dpi_source,
                                        self.settings.max_read_dpi, self.settings.min_read_dpi)
        decode_s += time.perf_counter() - started  # resampling to the read resolution prepares its pixels
        reductions = Reductions(image, dpi)  # made once, for the ink test and the skew estimate
        image, reductions, ground = positive(image, reductions)
        ink = ink_test(image, dpi, reductions)
        if self.settings.skip_blank and ink.blank:
            image.close()
            return blank_page(page_input, decode_s, dpi, ink)
        if self.settings.whiten_paper:
            image = whitened_paper(image, ink)
        self.engine.invert_lines(self.settings.invert_pass
                                 or (self.settings.invert_where_dark and ground.may_hold_reversed_text))
        reading = read_page(self.engine, image, dpi, self.settings.page_timeout_s, self.geometry, reductions)
        started = time.perf_counter()
        text = clean_text(reading.text)
        geometry = {k: round(v, 4) for k, v in reading.seconds.items() if k != "ocr_s"}
        geometry["ink_s"] = round(ground.seconds + ink.seconds, 4)  # both look at ink
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
            warning="; ".join(filter(None, (page_input.warning, NEGATIVE_WARNING if ground.negative else "",
                                            reading.warning))),
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

    def engine_stamp(self) -> EngineStamp:
        """(engine version, languages with their data fingerprints, reading stamp) for the record;
        worked out once per stage (the settings do not change)."""
        if self._stamp is None:
            s = self.settings
            languages = f"{s.languages} ({language_data_version(s.languages, s.tessdata)})"
            if s.latin_reader:
                languages += f"; Latin lines: {s.latin_reader} ({language_data_version(s.latin_reader, s.tessdata)})"
            extra = s.vertical_language and language_data_version(s.vertical_language, s.tessdata)
            self._stamp = EngineStamp(self.engine.version, languages,
                                      reading_stamp(s, self.engine.version, languages, extra or ""))
        return self._stamp


@dataclass
class LongDocument:
    """What a split document's record needs besides its pages: known once it is opened."""

    job: Job
    fetched: FetchedObject  # its bytes emptied: they travel to the ranges another way
    content_type: str
    page_count: int
    engine_stamp: EngineStamp

    @classmethod
    def opened(cls, stage: OcrStage, job: Job, fetched: FetchedObject, opened: OpenedDocument,
               started: float) -> LongDocument:
        """The long document ``opened`` from ``fetched``; its open time is charged to the fetch."""
        seconds = fetched.seconds + time.perf_counter() - started
        return cls(job, replace(fetched, data=b"", seconds=seconds), opened.content_type, opened.page_count,
                   stage.engine_stamp())


def reading_stamp(settings: Settings, engine_version: str, languages: str, vertical_data: str = "") -> str:
    """A short digest of everything that changes what a page reads as: the engine's version, the
    languages with their data fingerprints (and the Latin reader's), the vertical reader's data and
    :data:`READING_SETTINGS` (less :data:`LATER_READING_SETTINGS` at their earlier values), and,
    with stamps read through, on which pages (``stamps.STAMPS_READ_THROUGH``)."""
    described = {"engine_version": engine_version, "languages": languages, "vertical_data": vertical_data,
                 **{name: getattr(settings, name) for name in READING_SETTINGS
                    if getattr(settings, name) != LATER_READING_SETTINGS.get(name, ...)}}
    if settings.drop_stamps:  # which pages' stamps are read through: readings of fewer kinds are read again
        described["stamps_read_through"] = STAMPS_READ_THROUGH
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


NEGATIVE_WARNING = "read as a negative: white on black, made black on white"


def positive(image: Image.Image, reductions: Reductions) -> tuple[Image.Image, Reductions, DarkGround]:
    """The page as black on white, its reductions, and its dark ground: a negative scan (most of
    the page dark, :func:`~pipeline.engine.blank.dark_ground`) is inverted, else the ink test
    finds no ink darker than its black paper and calls it blank."""
    ground = dark_ground(reductions)
    if not ground.negative:
        return image, reductions, ground
    flipped = inverted(image)
    again = Reductions(flipped, reductions.dpi)
    return flipped, again, replace(dark_ground(again), negative=True)


def blank_page(page_input: PageInput, decode_s: float, dpi: int, ink: InkReading) -> PageResult:
    """The result of a page the ink test found blank: no text, the engine not called."""
    image = page_input.image
    assert image is not None
    result = PageResult(page_input.page, "", None, "blank", decode_s=decode_s, width=image.width,
                        height=image.height, warning=page_input.warning, dpi=dpi,
                        dpi_source=page_input.dpi_source or "setting",
                        geometry_timings={"ink_s": round(ink.seconds, 4)})
    image.close()
    return result


def fetched_document_id(job: Job, fetched: FetchedObject) -> str:
    """The document ``_id`` of a fetched object: the version read (or its ETag) names it."""
    return document_id(job.bucket, job.key, fetched.version_id or job.version_id or fetched.etag or job.etag)


def reused_document(job: Job, fetched: FetchedObject, prior: PriorReading, seconds: float,
                    engine_stamp: EngineStamp) -> Document:
    """The job's own record carrying a prior reading's pages and text, marked ``reused_from``."""
    doc = assemble_document(job, fetched, prior.content_type, prior.pages, seconds, engine_stamp)
    doc.reused_from = prior.doc_id
    doc.timings["saved_s"] = round(prior.engine_s, 4)
    return doc


def assemble_document(
    job: Job,
    fetched: FetchedObject,
    content_type: str,
    pages: list[PageResult],
    seconds: float,
    engine_stamp: EngineStamp | tuple[str, ...],
) -> Document:
    """The document record for a job from its pages (any order; sorted here). A stamp of two
    (engine, languages: written before the reading stamp) gives the record no reading stamp."""
    engine_stamp = EngineStamp(*engine_stamp) if len(engine_stamp) == 3 else EngineStamp(*engine_stamp, "")
    pages = sorted(pages, key=lambda p: p.page)
    version = fetched.version_id or job.version_id
    etag = fetched.etag or job.etag
    return Document(
        doc_id=fetched_document_id(job, fetched),
        bucket=job.bucket,
        key=job.key,
        version_id=version,
        etag=etag,
        size=fetched.size,
        content_type=content_type,
        page_count=len(pages),
        text="\n\f\n".join(p.text for p in pages if p.text),
        pages=pages,
        engine=engine_stamp.engine,
        languages=engine_stamp.languages,
        timings={
            "fetch_s": round(fetched.seconds, 4),
            "decode_s": round(sum(p.decode_s for p in pages), 4),
            "ocr_s": round(sum(p.ocr_s for p in pages), 4),
            "clean_s": round(sum(p.clean_s for p in pages), 4),
            "geometry_s": round(sum(p.geometry_s for p in pages), 4),
            "process_s": round(seconds, 4),
            "saved_s": 0.0,  # engine seconds a reused reading saved (reused_document)
        },
        processed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        sha256=fetched.sha256,
        reading=engine_stamp.reading,
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
