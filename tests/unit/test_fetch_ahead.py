"""Small objects fetched ahead of their turn (pipeline.sources.fetch), on real local files."""

from __future__ import annotations

import threading

import pytest

from pipeline.errors import ObjectMissing
from pipeline.models import Job
from pipeline.sources.fetch import AHEAD_MAX_BYTES, LOCAL_SCHEME, fetch_local, in_turn


def test_jobs_come_in_order_with_their_bytes_and_errors_in_turn(tmp_path) -> None:
    for i in range(6):
        (tmp_path / f"{i}.png").write_bytes(bytes([i]) * (i + 1))
    names = ["0.png", "1.png", "gone.png", "3.png", "4.png", "5.png"]
    jobs = [Job(LOCAL_SCHEME + str(tmp_path), name, size=10) for name in names]
    threads: set[str] = set()

    def fetch(job: Job):
        threads.add(threading.current_thread().name)
        return fetch_local(job, 1000)

    got = []
    for job, get in in_turn(fetch, jobs):
        try:
            got.append((job.key, get().data))
        except ObjectMissing:
            got.append((job.key, None))
    assert got == [("0.png", b"\0"), ("1.png", b"\1\1"), ("gone.png", None), ("3.png", b"\3" * 4),
                   ("4.png", b"\4" * 5), ("5.png", b"\5" * 6)]
    assert all(name.startswith("fetch-ahead") for name in threads)


@pytest.mark.parametrize("size", [None, AHEAD_MAX_BYTES + 1])
def test_large_or_unknown_objects_are_fetched_in_their_turn_only(tmp_path, size) -> None:
    (tmp_path / "a").write_bytes(b"a")
    jobs = [Job(LOCAL_SCHEME + str(tmp_path), "a", size=size)] * 3
    fetched_by: list[str] = []

    def fetch(job: Job):
        fetched_by.append(threading.current_thread().name)
        return fetch_local(job, 1000)

    for _, get in in_turn(fetch, jobs):
        assert len(fetched_by) < 3  # nothing fetched before its turn
        get()
    assert fetched_by == [threading.current_thread().name] * 3


def test_a_workers_first_fetches_together_make_one_s3_client(monkeypatch) -> None:
    """The first batch starts ``AHEAD`` fetches at once; each used to make a client of its own."""
    from pipeline.settings import Settings
    from pipeline.sources.fetch import AHEAD, Fetcher

    monkeypatch.setenv("AWS_REGION", "us-east-1")
    fetcher = Fetcher(Settings())
    start = threading.Barrier(AHEAD)
    clients = []

    def first_fetch() -> None:
        start.wait()
        clients.append(fetcher.s3)

    threads = [threading.Thread(target=first_fetch) for _ in range(AHEAD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clients) == AHEAD and len({id(c) for c in clients}) == 1
