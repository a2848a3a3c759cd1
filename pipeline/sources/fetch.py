"""A job's bytes, as every runtime fetches them (the one module that reads them): an S3 object
(the version the job names; ``"null"`` versions read as none), or a local file (the ``file://``
jobs of a backfill of a directory), under ``OCR_MAX_OBJECT_BYTES`` (refused before a byte is read
when the size is known). One :class:`Fetcher` per worker process, holding its one S3 client.
The OCR stage never fetches: it is handed the bytes (:class:`~pipeline.models.FetchedObject`).

Fetching the next small objects while the engine reads this one: a one-line scan takes the engine
~20 ms; its S3 GET is a round trip of about as long (tens of ms on S3), during which the worker's
core would idle. :func:`in_turn` hands a runtime each job with a call that returns its bytes: for
an object of known size up to ``AHEAD_MAX_BYTES`` the download started on a thread ``AHEAD`` jobs
before its turn; any other object (unknown size, or large: never more than ``AHEAD`` small ones in
memory beside it) is fetched when its turn comes. Errors are raised by the call, in turn, exactly
as a plain fetch raises them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline import errors
from pipeline.errors import from_third_party
from pipeline.models import FetchedObject, Job
from pipeline.settings import Settings

LOCAL_SCHEME = "file://"
AHEAD = 4
AHEAD_MAX_BYTES = 4 * 2**20

Fetch = Callable[[Job], FetchedObject]


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
        version_id=s3_version(response.get("VersionId") or job.version_id),
        seconds=time.perf_counter() - started,
        sha256=content_digest(data),
    )


def s3_version(value: str | None) -> str:
    """S3 answers ``"null"`` for objects of unversioned buckets."""
    return "" if not value or value == "null" else str(value)


def _too_large(size: int, cap: int) -> str:
    return f"the object has {size:,} bytes; the cap is {cap:,} (OCR_MAX_OBJECT_BYTES)"


def is_local(job: Job) -> bool:
    """Whether the job names a local file."""
    return job.bucket.startswith(LOCAL_SCHEME)


def fetch_local(job: Job, max_bytes: int) -> FetchedObject:
    """Read a local job's file under the size cap (the local twin of :func:`fetch_object`)."""
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


class Fetcher:
    """Fetches jobs' bytes for one worker process (see the module docstring)."""

    def __init__(self, settings: Settings, s3: Any = None) -> None:
        self.max_bytes = settings.max_object_bytes
        self.timeout_s = settings.s3_timeout_s
        self._s3 = s3
        self._making = threading.Lock()

    @property
    def s3(self) -> Any:
        """This process's S3 client, made on first use, once: the first fetches of a worker start
        together on its threads (``in_turn``, the stream's tasks), and each would make its own."""
        if self._s3 is None:
            with self._making:
                if self._s3 is None:
                    from pipeline.awsclients import aws_client

                    self._s3 = aws_client("s3", timeout_s=self.timeout_s)
        return self._s3

    def fetch(self, job: Job) -> FetchedObject:
        """The job's bytes: the local file, or the S3 object (the version it names, if any)."""
        return fetch_local(job, self.max_bytes) if is_local(job) else fetch_object(self.s3, job, self.max_bytes)


def small(job: Job) -> bool:
    """Whether ``job`` may be fetched ahead (its size is known and small)."""
    return job.size is not None and job.size <= AHEAD_MAX_BYTES


def in_turn(fetch: Fetch, jobs: list[Job], ahead: int = AHEAD) -> Iterator[tuple[Job, Callable[[], FetchedObject]]]:
    """Each job with the call that gives its bytes, in order (see the module docstring)."""
    if len(jobs) < 2 or ahead < 1:
        for job in jobs:
            yield job, _now(fetch, job)
        return
    with ThreadPoolExecutor(ahead, thread_name_prefix="fetch-ahead") as pool:
        started: dict[int, Future[FetchedObject]] = {}
        for index, job in enumerate(jobs):
            for later in range(index, min(len(jobs), index + ahead + 1)):
                if later not in started and small(jobs[later]):
                    started[later] = pool.submit(fetch, jobs[later])
            future = started.pop(index, None)
            yield job, (future.result if future is not None else _now(fetch, job))


def _now(fetch: Fetch, job: Job) -> Callable[[], FetchedObject]:
    return lambda: fetch(job)
