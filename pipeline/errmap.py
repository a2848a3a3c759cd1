"""Map third-party exceptions (botocore, opensearch-py, Pillow, pypdfium2) onto the error tree."""

from __future__ import annotations

from pipeline import errors as e

_S3_MISSING = {"NoSuchKey", "NoSuchBucket", "404", "NotFound", "NoSuchVersion"}
_S3_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "InvalidObjectState"}


def from_third_party(exc: BaseException) -> e.OcrClusterError:
    """Sort one foreign exception; what we cannot place is transient so no input is lost."""
    for mapper in (_from_botocore, _from_opensearch, _from_imaging):
        mapped = mapper(exc)
        if mapped is not None:
            return mapped
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return e.StorageUnavailable(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, MemoryError):
        return e.ImageTooLarge("the page did not fit in memory")
    return e.TransientError(f"unexpected {type(exc).__name__}: {exc}")


def _from_botocore(exc: BaseException) -> e.OcrClusterError | None:
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, bx.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = exc.response.get("Error", {}).get("Message", "") or code
        if code in _S3_MISSING:
            return e.ObjectMissing(f"the object does not exist ({code})")
        if code in _S3_DENIED:
            return e.AccessDenied(f"access denied ({code}: {message})")
        return e.StorageUnavailable(f"AWS error {code}: {message}")
    if isinstance(exc, (bx.BotoCoreError,)):
        return e.StorageUnavailable(f"{type(exc).__name__}: {exc}")
    return None


def _from_opensearch(exc: BaseException) -> e.OcrClusterError | None:
    try:
        from opensearchpy import exceptions as ox
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, ox.ConnectionError):
        return e.IndexUnavailable(f"OpenSearch unreachable: {exc}")
    if isinstance(exc, ox.TransportError):
        return e.IndexUnavailable(f"OpenSearch answered {exc.status_code}: {exc.error}")
    return None


def _from_imaging(exc: BaseException) -> e.OcrClusterError | None:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, Image.DecompressionBombError):
        return e.ImageTooLarge(str(exc))
    if isinstance(exc, UnidentifiedImageError):
        return e.CorruptDocument(f"the image cannot be read: {exc}")
    if isinstance(exc, (OSError, SyntaxError, ValueError)) and "image" in str(exc).lower():
        return e.CorruptDocument(f"the image is damaged: {exc}")
    return None
