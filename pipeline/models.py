"""Plain data: jobs in, pages and documents out. No I/O here."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class Job:
    """One object version to OCR, as announced by S3, the native message form, or a listing."""

    bucket: str
    key: str
    version_id: str = ""
    etag: str = ""
    size: int | None = None
    sequencer: str = ""

    @property
    def doc_id(self) -> str:
        """Deterministic document ``_id``: the same object version always maps to one document.

        S3 keys may be 1,024 bytes and ``_id`` is limited to 512, so the id is a hash.
        """
        return document_id(self.bucket, self.key, self.version_id or self.etag.strip('"'))

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` for logs and people."""
        return f"s3://{self.bucket}/{self.key}"


def document_id(bucket: str, key: str, version: str) -> str:
    """SHA-256 of bucket, key and version (or ETag), NUL-separated."""
    raw = "\0".join((bucket, key, version)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


@dataclass
class PageInput:
    """One page ready for the engine: either text from a PDF text layer or an image, with the
    resolution it is to be read at and where that came from (:mod:`pipeline.engine.documents`)."""

    page: int
    text: str | None = None
    image: Image.Image | None = None
    warning: str = ""
    dpi: int = 0
    dpi_source: str = ""


@dataclass
class PageResult:
    """What one page gave: its text, how it was obtained, and how the page lay.

    ``rotation``: degrees the page was turned (counter-clockwise) to be read upright; ``skew``:
    degrees it was straightened by; ``direction``: "horizontal", "vertical" or "mixed";
    ``dpi``/``dpi_source``: the resolution the engine was told and where it came from.
    ``ocr_s`` is the first reading (its Latin lines read again included); ``geometry_s`` what
    finding the page's lie took beyond it
    (skew, orientation, vertical passes), itemised in ``geometry_timings``.
    """

    page: int
    text: str
    confidence: float | None
    source: str  # "ocr" | "text-layer" | "empty" | "blank" (the ink test found none: not read)
    decode_s: float = 0.0
    ocr_s: float = 0.0
    clean_s: float = 0.0
    width: int = 0
    height: int = 0
    warning: str = ""
    dpi: int = 0
    dpi_source: str = ""
    rotation: int = 0
    skew: float = 0.0
    direction: str = ""
    geometry_timings: dict[str, float] = field(default_factory=dict)

    @property
    def geometry_s(self) -> float:
        """Seconds spent on the page's geometry beyond its first reading."""
        return sum(self.geometry_timings.values())

    def summary(self) -> dict[str, Any]:
        """The page as the index keeps it (``pages`` of the ``_source``)."""
        return {
            "page": self.page, "text": self.text, "confidence": self.confidence, "source": self.source,
            "dpi": self.dpi, "dpi_source": self.dpi_source, "rotation": self.rotation, "skew": self.skew,
            "direction": self.direction, "width": self.width, "height": self.height,
            "timings": {"decode_s": round(self.decode_s, 4), "ocr_s": round(self.ocr_s, 4),
                        **{k: round(v, 4) for k, v in self.geometry_timings.items()}},
        }

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> PageResult:
        """The page as :meth:`summary` wrote it (a prior reading, reused): text and how it lay,
        with no seconds of its own."""
        return cls(
            page=int(summary["page"]), text=summary.get("text") or "", confidence=summary.get("confidence"),
            source=summary.get("source") or "ocr", width=int(summary.get("width") or 0),
            height=int(summary.get("height") or 0), dpi=int(summary.get("dpi") or 0),
            dpi_source=summary.get("dpi_source") or "", rotation=int(summary.get("rotation") or 0),
            skew=float(summary.get("skew") or 0.0), direction=summary.get("direction") or "",
        )


@dataclass
class Document:
    """The record written to OpenSearch (and Parquet) for one object version.

    ``sha256``: the digest of the object's bytes; ``reading``: the stamp of the settings it was
    read with (:func:`pipeline.engine.stage.reading_stamp`); ``reused_from``: the document whose
    reading of the same bytes was reused instead of calling the engine (empty when read here).
    """

    doc_id: str
    bucket: str
    key: str
    version_id: str
    etag: str
    size: int
    content_type: str
    page_count: int
    text: str
    pages: list[PageResult]
    engine: str
    languages: str
    timings: dict[str, float] = field(default_factory=dict)
    processed_at: str = ""
    sha256: str = ""
    reading: str = ""
    reused_from: str = ""

    @property
    def blank_pages(self) -> int:
        """Pages the ink test found blank (the engine not called)."""
        return sum(p.source == "blank" for p in self.pages)

    def skipped_work(self) -> dict[str, float]:
        """What this document did not need the engine for (the keys of :func:`no_skipped_work`);
        a reused document's blank pages count as reused."""
        reused = bool(self.reused_from)
        return {"reused_documents": int(reused), "reused_pages": self.page_count if reused else 0,
                "saved_seconds": float(self.timings.get("saved_s", 0.0)),
                "blank_pages": 0 if reused else self.blank_pages}

    def to_source(self) -> dict[str, Any]:
        """The ``_source`` body for OpenSearch."""
        body = asdict(self)
        body.pop("doc_id")
        body["pages"] = [p.summary() for p in self.pages]
        body["confidence"] = mean_confidence(self.pages)
        return body


def no_skipped_work() -> dict[str, float]:
    """Counts of work not done (reuse, blank pages), all zero: what ``skipped_work`` adds to."""
    return {"reused_documents": 0, "reused_pages": 0, "saved_seconds": 0.0, "blank_pages": 0}


def mean_confidence(pages: list[PageResult]) -> float | None:
    """Mean of the OCR'd pages' confidences (text-layer pages have none)."""
    values = [p.confidence for p in pages if p.confidence is not None]
    return round(sum(values) / len(values), 2) if values else None


@dataclass
class PriorReading:
    """An earlier document's reading of the same bytes with the same settings (to reuse)."""

    doc_id: str  # the document first read (a reuse of a reuse names the first)
    content_type: str
    pages: list[PageResult]
    engine_s: float  # what reading it took the engine (what reusing it saves)


@dataclass
class FetchedObject:
    """An object's bytes, the metadata that names its version, and the digest of its bytes."""

    data: bytes
    size: int
    etag: str
    version_id: str
    seconds: float
    sha256: str = ""


@dataclass
class Failure:
    """An input that could not be processed, with a reason a person can read: the one failure
    record of both runtimes (the DLQ's attributes, the logs and the failure rows are made from it)."""

    bucket: str
    key: str
    version_id: str
    error_class: str
    reason: str
    retryable: bool

    @classmethod
    def of(cls, job: Job, exc: BaseException) -> Failure:
        """``job``'s failure from any exception, sorted onto the error tree (``errors.classify``)."""
        from pipeline.errors import classify

        return cls.of_error(job, classify(exc))

    @classmethod
    def of_error(cls, job: Job, error: Any, prefix: str = "") -> Failure:
        """``job``'s failure from an error of the tree (``prefix`` goes before its reason)."""
        return cls(job.bucket, job.key, job.version_id, error.error_class, prefix + error.reason, error.retryable)

    def fields(self) -> dict[str, Any]:
        """Its class, reason and retryable flag: the columns of a failure row (as ``OcrClusterError.fields``)."""
        return {"error_class": self.error_class, "reason": self.reason, "retryable": self.retryable}
