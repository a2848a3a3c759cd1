"""The look-ahead for earlier readings: one search for a batch of received messages, where each
object's worker would otherwise search the index once it has its bytes (issue #17).

An object's reading is reused when a document with the same bytes (SHA-256) was read under the
same reading stamp (``OcrStage.reuse``): a search per object, known only once it is fetched. The
S3 event names each object's ETag before the fetch, and the ETag of an object uploaded in one
part without SSE-KMS is the MD5 of its bytes. So, for the quick objects of a receive, the
coordinator asks once which of their ETags an indexed document (read under the workers' stamp)
has (:meth:`~pipeline.sinks.opensearch.OpenSearchReadings.etags_read`); a task whose ETag none has
is marked ``no_prior`` with that stamp. Its worker skips its own search only when the mark holds
for what it fetched (:func:`no_prior_for`): the same stamp, the ETag of the version read, and the
MD5 of the bytes equal to it. Anything else (a multipart or SSE-KMS ETag, a failed look-ahead, a
large object, a worker of another stamp) is searched for as before.

What is given up: a document of the same bytes whose own ETag is not their MD5 (uploaded in
parts, or under SSE-KMS, or a local file of a backfill) is not found for such an object, which is
then read again (one document per object version either way). Documents indexed between the
look-ahead and the fetch (at most the hold, ~1 s) are missed as the index's refresh interval
(1 s) already misses them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter
from typing import Any

from pipeline.models import FetchedObject, Job
from pipeline.sources.fetch import small

log = logging.getLogger("ocr_cluster.stream")

MD5_ETAG = re.compile(r"[0-9a-f]{32}")  # a part count ("-3") or any other form: not an MD5
REST_S = 30.0  # after a failed look-ahead, none for this long (the coordinator's loop waits on it)


def md5_etag(etag: str) -> bool:
    """Whether ``etag`` has the form of an MD5 (32 hex digits; a multipart ETag does not)."""
    return bool(MD5_ETAG.fullmatch(etag))


def no_prior_for(job: Job, fetched: FetchedObject, no_prior: str, reading: str) -> bool:
    """Whether the look-ahead's mark ``no_prior`` says no earlier reading of these bytes exists
    under ``reading``: the stamp is this worker's, the version fetched is the one looked up, and
    the ETag looked up is the MD5 of the bytes fetched."""
    if not no_prior or no_prior != reading or not md5_etag(fetched.etag) or fetched.etag != job.etag:
        return False
    return hashlib.md5(fetched.data, usedforsecurity=False).hexdigest() == fetched.etag


class LookAhead:
    """Marks the tasks of a batch of messages whose ETag no indexed document has (one search)."""

    def __init__(self, readings: Any) -> None:
        self.readings = readings  # an OpenSearchReadings
        self.searches = 0
        self.resting_until = 0.0  # monotonic; while the index fails, each worker looks up its own

    def mark(self, tasks: list[Any], readings_of_workers: list[str]) -> None:
        """Set ``no_prior`` on each of ``tasks`` (whole small jobs with an MD5-form ETag) whose ETag
        no document read under the workers' stamp has; a failed search marks none (logged), and
        none is made for ``REST_S`` (a slow or absent index would hold the loop each receive)."""
        stamps = Counter(r for r in readings_of_workers if r)
        candidates = [t for t in tasks if not t.first and small(t.job) and md5_etag(t.job.etag)]
        if not stamps or not candidates or time.monotonic() < self.resting_until:
            return
        stamp = stamps.most_common(1)[0][0]
        try:
            self.searches += 1
            found = self.readings.etags_read([t.job.etag for t in candidates], stamp)
        except Exception as exc:  # the look-ahead is an aid: each worker searches as before
            self.resting_until = time.monotonic() + REST_S
            log.warning("prior reading look-ahead failed; each object is looked up", extra={
                "objects": len(candidates), "error": f"{type(exc).__name__}: {exc}"[:300]})
            return
        for task in candidates:
            if task.job.etag not in found:
                task.no_prior = stamp
