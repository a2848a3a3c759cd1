"""What a backfill reads: S3 prefixes or local directories listed as jobs, local fetches, and the
``--skip-existing`` lookup (one ``mget`` per batch of ids, never one request per object).

A local file is a job whose bucket is ``file://<absolute directory>`` and whose ETag is
``<size>-<mtime_ns>``: the stage's deterministic ``document_id`` then names each file version once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

from pipeline import errors
from pipeline.models import FetchedObject, Job
from pipeline.sources.s3 import ListingFilter, content_digest, list_jobs

LOCAL_SCHEME = "file://"


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


def is_local(job: Job) -> bool:
    """Whether the job names a local file."""
    return job.bucket.startswith(LOCAL_SCHEME)


def fetch_local(job: Job, max_bytes: int) -> FetchedObject:
    """Read a local job's file under the size cap (the local twin of ``fetch_object``)."""
    path = Path(job.bucket.removeprefix(LOCAL_SCHEME)) / job.key
    started = time.perf_counter()
    try:
        stat = path.stat()
        if stat.st_size > max_bytes:
            raise errors.ObjectTooLarge(f"the file has {stat.st_size:,} bytes; the cap is {max_bytes:,}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise errors.ObjectMissing(f"the file does not exist: {path}") from None
    except PermissionError:
        raise errors.AccessDenied(f"the file cannot be read: {path}") from None
    return FetchedObject(data, len(data), f"{stat.st_size}-{stat.st_mtime_ns}", "", time.perf_counter() - started,
                         content_digest(data))


def parse_since(value: str) -> datetime:
    """``--modified-since``: an ISO date or date-time; naive values are UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise errors.ConfigError(f"--modified-since: not an ISO date: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
