"""A job's bytes, as every runtime fetches them: an S3 object, or a local file (the ``file://``
jobs of a backfill of a directory), under ``OCR_MAX_OBJECT_BYTES`` (refused before a byte is read
when the size is known). One :class:`Fetcher` per worker process, holding its one S3 client.
The OCR stage never fetches: it is handed the bytes (:class:`~pipeline.models.FetchedObject`).
"""

from __future__ import annotations

from typing import Any

from pipeline.models import FetchedObject, Job
from pipeline.settings import Settings
from pipeline.sources.listing import fetch_local, is_local
from pipeline.sources.s3 import fetch_object


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
