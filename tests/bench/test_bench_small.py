"""The small-objects benchmark's parts: its objects, and its CPU account (a real child process)."""

from __future__ import annotations

import subprocess
import sys
import time

from PIL import Image

from benchmarks.cpuaccount import CpuAccount, group_of
from benchmarks.smalldocs import SIZES, count_of, small_docs


def test_small_objects_have_their_size_their_number_and_a_quarter_page_is_rarer() -> None:
    import io

    docs = small_docs(3, "line") + small_docs(2, "quarter")
    sizes = [Image.open(io.BytesIO(d.data)).size for d in docs]
    assert sizes == [(600, 120)] * 3 + [(1240, 1754)] * 2
    assert [d.pages[0].split()[1] for d in docs[:3]] == ["10000", "10001", "10002"]
    assert len(docs[3].pages[0].splitlines()) == SIZES["quarter"].lines
    assert (count_of("line", 1000), count_of("quarter", 1000), count_of("quarter", 10)) == (1000, 100, 8)


def test_process_titles_fall_into_their_groups() -> None:
    assert group_of(7, b"anything", 7) == "driver"
    assert group_of(8, b"ray::MapWorker(MapBatches(OcrBatch)).submit", 7) == "ocr actors"
    assert group_of(8, b"ray::OcrWorker.start", 7) == "ocr actors"
    assert group_of(8, b"ray::Write", 7) == "write tasks"
    assert group_of(8, b"python\0-m\0moto.server\0-p\0123", 7) == "local stack"
    assert group_of(8, b"ray::_StatsActor", 7) == "ray data actors"
    assert group_of(8, b"ray::IDLE", 7) == "ray daemons"


def test_the_account_charges_a_busy_child_process() -> None:
    with CpuAccount(interval_s=0.05) as account:
        busy = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\ntime.sleep(0.3)"
        child = subprocess.Popen([sys.executable, "-c", busy])
        child.wait(timeout=20)
        time.sleep(0.1)
    assert account.seconds["ray daemons"] >= 0.3  # an untitled child, sampled while it sleeps after its work
    assert account.per_object_ms(2)["total"] >= 150


def _spin(seconds: float, then_idle_s: float = 0.0) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    time.sleep(then_idle_s)  # alive while the account samples its last CPU


def test_a_benchmark_thread_is_not_charged_to_the_driver_and_the_drivers_own_work_is() -> None:
    import threading

    with CpuAccount(interval_s=0.05) as account:
        feeder = threading.Thread(target=_spin, args=(0.6, 0.3), name="shallow-feed")
        feeder.start()
        feeder.join()
        _spin(0.3)  # the coordinator's share: this thread is not one of the benchmark's
    assert 0.2 <= account.seconds["driver"] <= 0.55, account.seconds


def test_the_benchmarks_one_tally_groups_sums_and_averages() -> None:
    from benchmarks.geometry import tally

    rows = [{"kind": k, "variant": v, "cer": c, "found": f, "words": 3, "missed": m, "seconds": s}
            for k, v, c, f, m, s in [("a", "x", 0.02, 3, [], 2.0), ("a", "x", 0.0, 2, ["w"], 3.0),
                                     ("a", "y", 0.01, 1, ["u", "v"], 1.0), ("b", "x", 0.0, 3, [], 4.0)]]
    by = tally(rows, ("kind", "variant"), ("seconds",), rate="seconds")
    assert list(by) == ["a", "b"] and list(by["a"]) == ["x", "y"]
    assert by["a"]["x"] == {"pages": 2, "cer": 0.01, "found": 5, "words": 6, "seconds": 2.5, "missed": ["w"],
                            "pages_per_s": 0.4}
    assert tally(rows, ("variant",), ("seconds",))["x"] == {"pages": 3, "cer": 0.0067, "found": 8, "words": 9,
                                                         "seconds": 3.0, "missed": ["w"]}
