"""The project's error tree. Every failure is sorted into one of three branches::

    OcrClusterError                 base; .reason is written for the person reading it
    ├── PermanentError              retrying cannot help: dead-letter at once
    │   ├── BadMessage              an SQS body we cannot read
    │   ├── ObjectTooLarge          over OCR_MAX_OBJECT_BYTES, never loaded
    │   ├── ObjectMissing           deleted between event and fetch (404)
    │   ├── AccessDenied            a bucket/key the worker may not read (403)
    │   ├── EmptyObject             zero bytes
    │   ├── UnsupportedType         magic bytes of no type we read
    │   ├── CorruptDocument         truncated / malformed image or PDF
    │   ├── EncryptedDocument       a password-protected PDF
    │   ├── ImageTooLarge           over the pixel cap (decompression bomb guard)
    │   ├── TooManyPages            over OCR_MAX_PAGES
    │   ├── EngineTimeout           the engine ran past OCR_PAGE_TIMEOUT_S on a page
    │   └── IndexRejected           OpenSearch refused the document itself (a 4xx other than 429)
    ├── TransientError              may succeed later: release for redelivery
    │   ├── StorageUnavailable      S3 throttling (503 SlowDown), time-outs, resets
    │   ├── IndexUnavailable        OpenSearch 429/5xx, time-outs, resets
    │   ├── WorkerLost              an OCR worker died under the page
    │   ├── ObjectChanged           overwritten while a long document's pages were being read
    │   └── MaxReceiveCountExceeded never raised: the class of a message SQS's redrive moved to the
    │                               DLQ after maxReceiveCount receives without an outcome
    ├── ConfigError                 the service cannot run as configured (exit 2)
    └── OperationFailed             an operator command did not reach its goal (exit 1)
        ├── SmokeFailed             ``smoke``: the test document was not searchable in time
        └── DeployFailed            ``ami deploy``: the instance refresh did not succeed

``error_class`` is the short name written to the DLQ's ``ErrorClass`` attribute, the logs and
the failure rows; ``classify`` (and ``from_third_party`` for what is not ours) maps any exception
onto the tree.
"""

from __future__ import annotations


class OcrClusterError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1
    retryable = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def error_class(self) -> str:
        """The short, stable name used in DLQ attributes, logs and failure rows."""
        return type(self).__name__

    def fields(self) -> dict[str, object]:
        """Its class, reason and retryable flag: the columns of a failure row."""
        return {"error_class": self.error_class, "reason": self.reason, "retryable": self.retryable}


class PermanentError(OcrClusterError):
    """Retrying cannot help; the input goes to the DLQ with this reason."""


class BadMessage(PermanentError):
    """An SQS body that is none of the forms we read."""


class ObjectTooLarge(PermanentError):
    """The object is over the size cap; it was never loaded."""


class ObjectMissing(PermanentError):
    """The object does not exist (deleted between the event and the fetch)."""


class AccessDenied(PermanentError):
    """The worker may not read the object."""


class EmptyObject(PermanentError):
    """The object has zero bytes."""


class UnsupportedType(PermanentError):
    """The bytes are of no type we read."""


class CorruptDocument(PermanentError):
    """A truncated or malformed image or PDF."""


class EncryptedDocument(PermanentError):
    """A password-protected PDF."""


class ImageTooLarge(PermanentError):
    """A page over the pixel cap (Pillow's decompression-bomb guard, or a PDF page)."""


class TooManyPages(PermanentError):
    """A document over the page cap."""


class EngineTimeout(PermanentError):
    """The engine ran past the per-page time-out."""


class TransientError(OcrClusterError):
    """May succeed later: the message is released and SQS redelivers it."""

    retryable = True


class IndexRejected(PermanentError):
    """OpenSearch refused the document itself (mapping or parse error): retrying cannot help."""


class StorageUnavailable(TransientError):
    """S3 throttled, timed out or reset the connection."""


class IndexUnavailable(TransientError):
    """OpenSearch answered 429/5xx, timed out or reset the connection."""


class WorkerLost(TransientError):
    """The OCR worker died while it held the page."""


class ObjectChanged(TransientError):
    """The object was overwritten while a backfill read a long document's pages on several workers."""


class MaxReceiveCountExceeded(TransientError):
    """Never raised: the class of a DLQ message that SQS's redrive moved there (no ``ErrorClass``
    attribute), after maxReceiveCount receives that each ended without an outcome."""


class ConfigError(OcrClusterError):
    """The program cannot run as configured."""

    exit_code = 2


class OperationFailed(OcrClusterError):
    """An operator command (``smoke``, ``ami deploy``) did not reach its goal (exit 1)."""


class SmokeFailed(OperationFailed):
    """``ocr-cluster smoke``: the test document did not become searchable in time."""


class DeployFailed(OperationFailed):
    """``ocr-cluster ami deploy``: the instance refresh did not end in success."""


def classify(exc: BaseException) -> OcrClusterError:
    """Map any exception onto the tree; unknown ones are transient (a bug must not lose input)."""
    if isinstance(exc, OcrClusterError):
        return exc
    return from_third_party(exc)


# Third-party exceptions (botocore, opensearch-py, Pillow) sorted onto the tree.
_S3_MISSING = {"NoSuchKey", "NoSuchBucket", "404", "NotFound", "NoSuchVersion"}
_S3_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "InvalidObjectState"}


def from_third_party(exc: BaseException) -> OcrClusterError:
    """Sort one foreign exception; what we cannot place is transient so no input is lost."""
    for mapper in (_from_botocore, _from_opensearch, _from_imaging):
        mapped = mapper(exc)
        if mapped is not None:
            return mapped
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return StorageUnavailable(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, MemoryError):
        return ImageTooLarge("the page did not fit in memory")
    return TransientError(f"unexpected {type(exc).__name__}: {exc}")


def _from_botocore(exc: BaseException) -> OcrClusterError | None:
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, bx.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = exc.response.get("Error", {}).get("Message", "") or code
        if code in _S3_MISSING:
            return ObjectMissing(f"the object does not exist ({code})")
        if code in _S3_DENIED:
            return AccessDenied(f"access denied ({code}: {message})")
        return StorageUnavailable(f"AWS error {code}: {message}")
    if isinstance(exc, (bx.BotoCoreError,)):
        return StorageUnavailable(f"{type(exc).__name__}: {exc}")
    return None


def _from_opensearch(exc: BaseException) -> OcrClusterError | None:
    try:
        from opensearchpy import exceptions as ox
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, ox.ConnectionError):
        return IndexUnavailable(f"OpenSearch unreachable: {exc}")
    if isinstance(exc, ox.TransportError):
        return IndexUnavailable(f"OpenSearch answered {exc.status_code}: {exc.error}")
    return None


def _from_imaging(exc: BaseException) -> OcrClusterError | None:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, Image.DecompressionBombError):
        return ImageTooLarge(str(exc))
    if isinstance(exc, UnidentifiedImageError):
        return CorruptDocument(f"the image cannot be read: {exc}")
    if isinstance(exc, (OSError, SyntaxError, ValueError)) and "image" in str(exc).lower():
        return CorruptDocument(f"the image is damaged: {exc}")
    return None
