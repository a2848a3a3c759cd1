"""How a backfill's objects are cut into blocks (no servers, no Ray)."""

from __future__ import annotations

from pipeline.batch import MAX_ROWS_PER_BLOCK, input_blocks


def test_a_short_run_hands_out_one_object_at_a_time() -> None:
    assert [input_blocks(n) for n in (0, 1, 37, 200)] == [1, 1, 37, 200]


def test_a_long_run_never_puts_more_than_the_cap_in_one_actor_task() -> None:
    for jobs in (201, 6_400, 6_401, 100_000, 2_000_000):
        blocks = input_blocks(jobs)
        assert -(-jobs // blocks) <= MAX_ROWS_PER_BLOCK, jobs
        assert blocks <= jobs
    assert input_blocks(2_000_000) == 62_500  # not 200 blocks of 10,000 objects
