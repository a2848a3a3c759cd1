"""The one-run report's plumbing: every section has a command sized as asked, a section's output
is shown without its progress lines, and a section that fails says so with its error."""

from __future__ import annotations

import sys

from benchmarks import fullreport


def test_every_section_has_a_command_and_the_page_count_reaches_the_ratio_runs() -> None:
    plan = fullreport.commands(pages=200, quick=False, ocr_cores=3)
    assert set(plan) == set(fullreport.SECTIONS) == set(fullreport.TITLES)
    assert plan["isolated"][-4:] == ["--pages", "200", "--ocr-cores", "3"]
    assert plan["shared"][plan["shared"].index("--pages") + 1] == "200"
    assert "adopted" in plan["engine"][plan["engine"].index("--variants") + 1]


def test_a_section_shows_its_output_less_progress_and_its_command() -> None:
    script = "n = 1; print(f'{n}/3 upright'); print('| table |')"
    text, status = fullreport.run_section("engine", [sys.executable, "-c", script])
    assert status == 0
    assert "| table |" in text and "1/3 upright" not in text and text.startswith("## Engine settings")


def test_a_failing_section_reports_its_exit_status_and_error() -> None:
    text, status = fullreport.run_section("skipped", [sys.executable, "-c", "import sys; sys.exit('no stack here')"])
    assert status == 1
    assert "FAILED (exit 1)" in text and "no stack here" in text
