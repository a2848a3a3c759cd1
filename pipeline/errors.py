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
    │   └── EngineTimeout           the engine ran past OCR_PAGE_TIMEOUT_S on a page
    ├── TransientError              may succeed later: release for redelivery
    │   ├── StorageUnavailable      S3 throttling (503 SlowDown), time-outs, resets
    │   ├── IndexUnavailable        OpenSearch 429/5xx, time-outs, resets
    │   ├── WorkerLost              an OCR worker died under the page
    │   └── ObjectChanged           overwritten while a long document's pages were being read
    └── ConfigError                 the service cannot run as configured (exit 2)

``error_class`` is the short name written to the DLQ's ``ErrorClass`` attribute, the logs and
the failure rows; ``classify`` maps third-party exceptions onto the tree.
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


class StorageUnavailable(TransientError):
    """S3 throttled, timed out or reset the connection."""


class IndexUnavailable(TransientError):
    """OpenSearch answered 429/5xx, timed out or reset the connection."""


class WorkerLost(TransientError):
    """The OCR worker died while it held the page."""


class ObjectChanged(TransientError):
    """The object was overwritten while a backfill read a long document's pages on several workers."""


class ConfigError(OcrClusterError):
    """The program cannot run as configured."""

    exit_code = 2


def classify(exc: BaseException) -> OcrClusterError:
    """Map any exception onto the tree; unknown ones are transient (a bug must not lose input)."""
    if isinstance(exc, OcrClusterError):
        return exc
    from pipeline import errmap

    return errmap.from_third_party(exc)
