"""A job's bytes, as every runtime fetches them: an S3 object, or a local file (the ``file://``
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

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pipeline.models import FetchedObject, Job
from pipeline.settings import Settings
from pipeline.sources.listing import fetch_local, is_local
from pipeline.sources.s3 import fetch_object

AHEAD = 4
AHEAD_MAX_BYTES = 4 * 2**20

Fetch = Callable[[Job], FetchedObject]


class Fetcher:
    """Fetches jobs' bytes for one worker process (see the module docstring)."""

    def __init__(self, settings: Settings, s3: Any = None) -> None:
        self.max_bytes = settings.max_object_bytes
        self.timeout_s = settings.s3_timeout_s
        self._s3 = s3

    @property
    def s3(self) -> Any:
        """This process's S3 client (made on first use)."""
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
