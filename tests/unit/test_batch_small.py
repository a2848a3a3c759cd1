"""Which runs are small jobs, and the small job's progress line counted on the driver (no servers, no Ray)."""

from __future__ import annotations

import io

from pipeline.batch.progress import ProgressBar
from pipeline.batch.run import is_small
from pipeline.settings import Settings


def test_a_few_dozen_objects_are_a_small_job_and_zero_keeps_every_run_on_ray_data(monkeypatch) -> None:
    limit = Settings().small_job_objects
    assert limit == 64
    assert [is_small(n, limit) for n in (0, 1, 24, limit, limit + 1)] == [False, True, True, True, False]
    assert not is_small(1, 0)
    monkeypatch.setenv("OCR_SMALL_JOB_OBJECTS", "500")
    assert Settings().small_job_objects == 500


def test_a_local_bar_counts_what_the_driver_adds_and_starts_no_actor() -> None:
    out = io.StringIO()
    with ProgressBar(3, stream=out, local=True) as bar:
        bar.add(2, 5, 1)
        bar.add(1, 1, 0)
        assert bar.handle is None  # nothing asked of Ray
    assert "3/3 objects" in out.getvalue() and "6 pages" in out.getvalue() and "1 failed" in out.getvalue()
