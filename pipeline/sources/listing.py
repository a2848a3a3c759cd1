"""What a backfill reads: ``s3://`` prefixes and local directories listed as jobs, filtered by
globs and date (:class:`ListingFilter`). In a versioned bucket a job names the current version.

A local file is a job whose bucket is ``file://<absolute directory>`` and whose ETag is
``<size>-<mtime_ns>``: the stage's deterministic ``document_id`` then names each file version once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from fnmatch import fnmatch
from itertools import islice
from pathlib import Path
from typing import Any

from pipeline import errors
from pipeline.errors import from_third_party
from pipeline.models import Job
from pipeline.sources.fetch import LOCAL_SCHEME, s3_version

log = logging.getLogger("ocr_cluster.listing")


def list_sources(sources: Iterable[str], keep: ListingFilter, limit: int | None = None, s3: Any = None) -> list[Job]:
    """Every job under the given ``s3://`` prefixes and local directories, in order, up to ``limit``."""
    jobs = _all_jobs(sources, keep, s3)
    return list(islice(jobs, limit) if limit else jobs)


def _all_jobs(sources: Iterable[str], keep: ListingFilter, s3: Any) -> Iterator[Job]:
    for source in sources:
        if source.startswith("s3://"):
            if s3 is None:
                from pipeline.awsclients import aws_client

                s3 = aws_client("s3")
            yield from list_jobs(s3, source, keep)
        else:
            yield from list_local(source, keep)


def list_local(directory: str, keep: ListingFilter) -> Iterator[Job]:
    """Every regular file under ``directory`` (sorted, recursive) as a job; keys are relative paths."""
    root = Path(directory.removeprefix(LOCAL_SCHEME)).resolve()
    if not root.is_dir():
        raise errors.ConfigError(f"not an s3:// address or a directory: {directory}")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        key = path.relative_to(root).as_posix()
        if keep.keeps(key, datetime.fromtimestamp(stat.st_mtime, timezone.utc)):
            yield Job(bucket=LOCAL_SCHEME + str(root), key=key, etag=f"{stat.st_size}-{stat.st_mtime_ns}",
                      size=stat.st_size)


def parse_since(value: str) -> datetime:
    """``--modified-since``: an ISO date or date-time; naive values are UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise errors.ConfigError(f"--modified-since: not an ISO date: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
            yield Job(bucket=bucket, key=key, version_id=s3_version(obj.get("VersionId")),
                      etag=obj.get("ETag", "").strip('"'), size=obj.get("Size"))
