"""How a backfill's objects are ordered and cut into blocks (no servers, no Ray)."""

from __future__ import annotations

from pipeline.batch.run import BLOCKS_PER_ACTOR, MAX_ROWS_PER_BLOCK, input_blocks


def test_a_short_run_hands_out_one_object_at_a_time() -> None:
    assert [input_blocks(n) for n in (0, 1, 37, 200)] == [1, 1, 37, 200]


def test_a_long_run_never_puts_more_than_the_cap_in_one_actor_task() -> None:
    for jobs in (201, 6_400, 6_401, 100_000, 2_000_000):
        blocks = input_blocks(jobs)
        assert -(-jobs // blocks) <= MAX_ROWS_PER_BLOCK, jobs
        assert blocks <= jobs
    assert input_blocks(2_000_000) == 62_500  # not 200 blocks of 10,000 objects


def test_small_objects_go_in_full_blocks_but_every_actor_gets_several() -> None:
    assert input_blocks(1000, small=1000, actors=2) == -(-1000 // MAX_ROWS_PER_BLOCK)  # 32 blocks, not 200
    assert input_blocks(100, small=100, actors=2) == 2 * BLOCKS_PER_ACTOR
    assert input_blocks(1000, small=1000, actors=16) == 16 * BLOCKS_PER_ACTOR
    assert input_blocks(10, small=10, actors=16) == 10
    assert input_blocks(150, small=100, actors=2) == 50 + 4  # the large ones still one a block


def test_the_largest_objects_are_handed_out_first() -> None:
    from pipeline.batch.run import largest_first
    from pipeline.models import Job

    items = [(Job("b", key, size=size), key) for key, size in
             [("a.png", 90_000), ("unknown.pdf", None), ("long.pdf", 4_000_000), ("b.png", 120_000), ("c.png", 90_000)]]
    assert [tag for _, tag in largest_first(items, 5)] == ["long.pdf", "b.png", "a.png", "c.png", "unknown.pdf"]


def test_blocks_of_several_objects_each_get_one_of_the_largest() -> None:
    from pipeline.batch.run import largest_first
    from pipeline.models import Job

    items = [(Job("b", f"{size}.png", size=size), "") for size in range(1, 11)]  # 10 objects, 3 blocks
    order = [job.size for job, _ in largest_first(items, 3)]
    blocks = [order[0:4], order[4:7], order[7:10]]  # how Ray Data cuts 10 rows into 3 blocks
    assert blocks == [[10, 7, 4, 1], [9, 6, 3], [8, 5, 2]]
