"""S3: fetch one object with a size cap, and list a prefix as jobs (the batch source)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatch
from typing import Any

from pipeline import errors
from pipeline.errors import from_third_party
from pipeline.models import FetchedObject, Job

log = logging.getLogger("ocr_cluster.s3")


def content_digest(data: bytes) -> str:
    """The object's content digest (SHA-256 of its bytes, hex): the same bytes under any key."""
    return hashlib.sha256(data).hexdigest()


def fetch_object(s3: Any, job: Job, max_bytes: int) -> FetchedObject:
    """Download ``job``'s object; refuse (unread) anything over ``max_bytes``."""
    if job.size is not None and job.size > max_bytes:
        raise errors.ObjectTooLarge(_too_large(job.size, max_bytes))
    started = time.perf_counter()
    kwargs = {"Bucket": job.bucket, "Key": job.key}
    if job.version_id:
        kwargs["VersionId"] = job.version_id
    try:
        response = s3.get_object(**kwargs)
        length = int(response.get("ContentLength", 0))
        body = response["Body"]
        if length > max_bytes:
            body.close()
            raise errors.ObjectTooLarge(_too_large(length, max_bytes))
        data = body.read(max_bytes + 1)
        body.close()
    except errors.OcrClusterError:
        raise
    except Exception as exc:
        raise from_third_party(exc) from exc
    if len(data) != length:
        raise errors.StorageUnavailable(f"truncated download: got {len(data)} of {length} bytes")
    return FetchedObject(
        data=data,
        size=length,
        etag=str(response.get("ETag", "")).strip('"'),
        version_id=_version(response.get("VersionId") or job.version_id),
        seconds=time.perf_counter() - started,
        sha256=content_digest(data),
    )


def _version(value: str | None) -> str:
    """S3 answers ``"null"`` for objects of unversioned buckets."""
    return "" if not value or value == "null" else str(value)


def _too_large(size: int, cap: int) -> str:
    return f"the object has {size:,} bytes; the cap is {cap:,} (OCR_MAX_OBJECT_BYTES)"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> ``(bucket, prefix)``."""
    if not uri.startswith("s3://"):
        raise errors.ConfigError(f"not an s3:// address: {uri}")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise errors.ConfigError(f"no bucket in {uri}")
    return bucket, prefix


@dataclass
class ListingFilter:
    """Which listed objects to keep."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    modified_since: datetime | None = None

    def keeps(self, key: str, modified: datetime | None) -> bool:
        """Whether the object passes the globs and the date."""
        if self.include and not any(fnmatch(key, g) for g in self.include):
            return False
        if any(fnmatch(key, g) for g in self.exclude):
            return False
        return not (self.modified_since and modified and modified < self.modified_since)


def list_jobs(s3: Any, uri: str, keep: ListingFilter | None = None) -> Iterator[Job]:
    """Every object under ``uri`` as a job (paginated; keys as stored).

    In a versioned bucket the jobs carry the current version's id (``ListObjectVersions``), so
    they name the same documents the stream indexed from the bucket's events and
    ``--skip-existing`` finds them; a key whose latest version is a delete marker is left out.
    """
    bucket, prefix = parse_s3_uri(uri)
    keep = keep or ListingFilter()
    if bucket_versioned(s3, bucket):
        yield from _latest_versions(s3, bucket, prefix, keep)
        return
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/") or not keep.keeps(obj["Key"], obj.get("LastModified")):
                continue
            yield Job(bucket=bucket, key=obj["Key"], etag=obj.get("ETag", "").strip('"'), size=obj.get("Size"))


def bucket_versioned(s3: Any, bucket: str) -> bool:
    """Whether the bucket keeps versions (enabled, or suspended with versions kept).

    Without ``s3:GetBucketVersioning`` the listing falls back to ETags, with a warning: nothing is
    indexed twice (the worker names a document by the version it reads), but ``--skip-existing``
    then skips nothing in a versioned bucket.
    """
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status", "")
    except Exception as exc:
        err = from_third_party(exc)
        if isinstance(err, errors.AccessDenied):
            log.warning("cannot read the bucket's versioning; listing by ETag",
                        extra={"bucket": bucket, "error": err.reason})
            return False
        raise err from exc
    return status in ("Enabled", "Suspended")


def _latest_versions(s3: Any, bucket: str, prefix: str, keep: ListingFilter) -> Iterator[Job]:
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Versions", []):
            key = obj["Key"]
            if not obj.get("IsLatest") or key.endswith("/") or not keep.keeps(key, obj.get("LastModified")):
                continue
            yield Job(bucket=bucket, key=key, version_id=_version(obj.get("VersionId")),
                      etag=obj.get("ETag", "").strip('"'), size=obj.get("Size"))
