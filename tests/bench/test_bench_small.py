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
