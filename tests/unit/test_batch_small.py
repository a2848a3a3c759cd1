"""Which runs are small jobs, and the small job's progress line counted on the driver (no servers, no Ray)."""

from __future__ import annotations

import io

from pipeline.batch.progress import ProgressBar
from pipeline.batch.small import LIMIT_ENV, SMALL_JOB_OBJECTS, is_small


def test_a_few_dozen_objects_are_a_small_job_and_more_go_through_ray_data(monkeypatch) -> None:
    monkeypatch.delenv(LIMIT_ENV, raising=False)
    assert [is_small(n) for n in (0, 1, 24, SMALL_JOB_OBJECTS, SMALL_JOB_OBJECTS + 1)] == [False, True, True, True,
                                                                                           False]


def test_the_limit_comes_from_the_environment_and_zero_keeps_every_run_on_ray_data(monkeypatch) -> None:
    monkeypatch.setenv(LIMIT_ENV, "0")
    assert not is_small(1)
    monkeypatch.setenv(LIMIT_ENV, "500")
    assert is_small(500) and not is_small(501)
    assert is_small(3, limit=3) and not is_small(4, limit=3)


def test_a_local_bar_counts_what_the_driver_adds_and_starts_no_actor() -> None:
    out = io.StringIO()
    with ProgressBar(3, stream=out, local=True) as bar:
        bar.add(2, 5, 1)
        bar.add(1, 1, 0)
        assert bar.handle is None  # nothing asked of Ray
    assert "3/3 objects" in out.getvalue() and "6 pages" in out.getvalue() and "1 failed" in out.getvalue()
