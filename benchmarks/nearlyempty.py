"""Nearly empty pages through the stage, their paper whitened or not (``OCR_WHITEN_PAPER``).

    python -m benchmarks.nearlyempty [--timeout 60] [--variants whitened,as-scanned]

The faint and nearly empty pages of :func:`benchmarks.blank.faint_pages` (a faint line, a faint
済, a word on grey paper, a short word, a page number beside punched holes, one small line), each
read through the stage with its default settings, once with the paper's noise made white
(``whitened``) and once as scanned (``as-scanned``): CPU seconds of one core and whether the
page's words were read (white space aside). The pages' noise is Pillow's, unseeded: a faint
line's Japanese half is read or not by the draw. A page that runs past ``--timeout``
(``OCR_PAGE_TIMEOUT_S``) is shown as such. Printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["OMP_THREAD_LIMIT"] = "1"

VARIANTS = {"whitened": True, "as-scanned": False}


def read_all(variant: str, timeout_s: float) -> list[tuple[str, float, str, bool]]:
    """(page, CPU s, what it read or the error, words found) for every faint page."""
    from benchmarks.blank import faint_pages
    from pipeline.engine.stage import OcrStage
    from pipeline.errors import OcrClusterError
    from pipeline.settings import Settings
    from tests.inputs import read_through

    stage = OcrStage(Settings(whiten_paper=VARIANTS[variant], page_timeout_s=timeout_s))
    stage.setup()
    rows = []
    for page in faint_pages():
        data = page.data  # encoded before the clock starts
        started = time.process_time()
        try:
            text = read_through(stage, page.name, data).text
            found = "".join(page.text.split()) in "".join(text.split())
            shown = " ".join(text.split())[:32]
        except OcrClusterError as exc:
            found, shown = False, type(exc).__name__
        rows.append((page.name, time.process_time() - started, shown, found))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Read, print a table per variant and the totals."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nearlyempty", description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="engine seconds a page (OCR_PAGE_TIMEOUT_S)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    for variant in args.variants.split(","):
        rows = read_all(variant, args.timeout)
        print(f"\n{variant}:")
        for name, cpu, shown, found in rows:
            print(f"  {name:<32} {cpu:7.2f} CPU s  {'found' if found else '     '}  {shown!r}")
        print(f"  total {sum(r[1] for r in rows):.1f} CPU s, {sum(r[3] for r in rows)}/{len(rows)} pages' words found")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
