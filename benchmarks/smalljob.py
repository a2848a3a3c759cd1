"""A small job, whole command against whole command: ``ocr-cluster backfill DIR`` against OCRmyPDF
on the same pages, on the same machine, with the bare warm engine for reference (issue #16).

    python -m benchmarks.smalljob [--pages 24] [--rounds 2] [--jobs 2] [--ocrmypdf .ocrmypdf-venv/bin]

The pages: ``--pages`` A4 pages at 300 DPI (``benchmarks.scanned``'s upright Mincho pages, 24 lines
of Japanese words, Latin words and figures), one PNG a file in one directory, as a file share
holds them. Each round runs, one after the other in the same minutes:

- ``backfill``: ``ocr-cluster backfill DIR --json`` into a fresh index on the local stack (what a
  user runs; a local Ray of all CPUs; its text read back from the index);
- ``backfill-raydata``: the same with ``OCR_SMALL_JOB_OBJECTS=0``, the Ray Data path every run took
  before the small-job path (``pipeline.batch.small``);
- ``ocrmypdf-pdf``: ``img2pdf DIR/*.png -o in.pdf && ocrmypdf -j N -l jpn+eng --sidecar out.txt
  in.pdf out.pdf``, the pages gathered into one PDF so OCRmyPDF's own ``-j N`` spreads them;
- ``ocrmypdf-files``: ``xargs -P N`` over the files, ``ocrmypdf -j 1 -l jpn+eng --sidecar`` each
  (OCRmyPDF takes one input file; its ``-j`` spreads one file's pages).

OCRmyPDF runs from its own environment (``scripts/ocrmypdf-env.sh``); without it its rows are
skipped with a line saying so. It drives the system ``tesseract`` CLI (Debian's 5.3 and its
jpn/eng data) where the backfill uses the tesserocr wheel's library. Every command runs with
``OMP_THREAD_LIMIT=1``. Each row: wall seconds from start to exit, CPU seconds of the command's
whole process tree (``benchmarks.cpuaccount``, sampled every 0.25 s; the local stack's, which
indexes for the backfill, apart), pages/s, and the mean CER of its text against the known text.
Printed and written to ``out/bench/smalljob.json``; quoted, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_THREAD_LIMIT"] = "1"

OUT = Path("out/bench/smalljob.json")
WORK = Path("out/bench/smalljob")
OCRMYPDF_BIN = Path(".ocrmypdf-venv/bin")


def make_pages(directory: Path, count: int, seed: int = 24, lines: int = 24) -> dict[str, str]:
    """``count`` upright A4 pages as PNG files in ``directory``; returns file name -> known text."""
    from benchmarks.scanned import make_page

    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    texts = {}
    for i in range(count):
        page = make_page("upright-300", 40000 + 37 * i, rng, lines, "")
        name = f"page-{i:03d}.png"
        (directory / name).write_bytes(page.data)
        texts[name] = page.text
    return texts


def ocrmypdf_installed(bin_dir: Path) -> bool:
    """Whether ``bin_dir`` holds OCRmyPDF and img2pdf (its own environment's ``bin/``)."""
    return (bin_dir / "ocrmypdf").exists() and (bin_dir / "img2pdf").exists()


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, CPU seconds of its process tree (the local stack's apart), output."""
    from benchmarks.cpuaccount import CpuAccount

    started = time.perf_counter()
    with CpuAccount(interval_s=0.25) as acct:
        done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    stack = acct.seconds["local stack"]
    command = sum(acct.seconds.values()) - stack - acct.seconds["driver"]  # "driver": this process
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(command, 2), "stack_cpu_s": round(stack, 2),
            "load_1m": round(os.getloadavg()[0], 2), "stdout": done.stdout}


def mean_cer(texts: dict[str, str], got: dict[str, str]) -> float:
    """Mean CER over the pages (a page with no text read counts 1.0)."""
    from pipeline.engine.quality import character_error_rate

    return round(sum(character_error_rate(t, got.get(name, "")) for name, t in texts.items()) / len(texts), 4)


def backfill(pages: Path, texts: dict[str, str], env: dict[str, str], raydata: bool = False) -> dict[str, Any]:
    """``ocr-cluster backfill DIR --json`` into a fresh index; the text read back from it."""
    from pipeline.settings import Settings
    from pipeline.sinks.opensearch import make_client, refresh

    index = "smalljob-" + uuid.uuid4().hex[:8]
    run_env = {**env, "OCR_INDEX": index} | ({"OCR_SMALL_JOB_OBJECTS": "0"} if raydata else {})
    cli = str(Path(sys.executable).with_name("ocr-cluster"))
    row = timed([cli, "backfill", str(pages), "--json"], run_env)
    summary = json.loads(row.pop("stdout"))
    client = make_client(Settings(opensearch_url=env["OCR_OPENSEARCH_URL"], index=index))
    refresh(client, index)
    hits = client.search(index=index, body={"size": 1000, "_source": ["key", "text"]})["hits"]["hits"]
    got = {Path(h["_source"]["key"]).name: h["_source"]["text"] for h in hits}
    return row | {"pages": summary["pages"], "failed": summary["failed"], "inner_elapsed_s": summary["elapsed_s"],
                  "cer": mean_cer(texts, got)}


def ocrmypdf_pdf(bin_dir: Path, pages: Path, texts: dict[str, str], env: dict[str, str], jobs: int,
                 work: Path) -> dict[str, Any]:
    """The pages as one PDF (img2pdf), OCRmyPDF ``-j jobs --sidecar`` over it; pages split on form feeds."""
    work.mkdir(parents=True, exist_ok=True)
    names = sorted(texts)
    script = (f"{shlex.quote(str(bin_dir / 'img2pdf'))} {' '.join(shlex.quote(str(pages / n)) for n in names)} "
              f"-o {work}/in.pdf && {shlex.quote(str(bin_dir / 'ocrmypdf'))} -q -j {jobs} -l jpn+eng "
              f"--sidecar {work}/out.txt {work}/in.pdf {work}/out.pdf")
    row = timed(["sh", "-c", script], env)
    row.pop("stdout")
    sidecar = (work / "out.txt").read_text().split("\f")
    got = dict(zip(names, sidecar, strict=False))
    return row | {"pages": len(names), "failed": 0, "cer": mean_cer(texts, got)}


def ocrmypdf_files(bin_dir: Path, pages: Path, texts: dict[str, str], env: dict[str, str], jobs: int,
                   work: Path) -> dict[str, Any]:
    """``xargs -P jobs``: ``ocrmypdf -j 1 --sidecar`` once a file."""
    work.mkdir(parents=True, exist_ok=True)
    names = sorted(texts)
    triples = "\n".join(f"{work}/{n}.txt {pages}/{n} {work}/{n}.pdf" for n in names) + "\n"
    script = (f"xargs -P {jobs} -n 3 {shlex.quote(str(bin_dir / 'ocrmypdf'))} -q -j 1 -l jpn+eng --sidecar "
              f"< {work}/list.txt")
    (work / "list.txt").write_text(triples)
    row = timed(["sh", "-c", script], env)
    row.pop("stdout")
    got = {n: (work / f"{n}.txt").read_text() for n in names if (work / f"{n}.txt").exists()}
    return row | {"pages": len(got), "failed": len(names) - len(got), "cer": mean_cer(texts, got)}


def engine_rate(pages: Path, texts: dict[str, str]) -> dict[str, Any]:
    """One warm engine in this process over the same pages: pages/s and CPU s a page, and CER."""
    from pipeline.engine.stage import OcrStage, decode_page
    from pipeline.settings import Settings

    stage = OcrStage(Settings())
    stage.setup()
    names = sorted(texts)
    stage.ocr_page((pages / names[0]).read_bytes(), 1)  # the lazily loaded readers, as a worker's first page
    got = {}
    started, cpu = time.perf_counter(), time.process_time()
    for name in names:
        with stage.open((pages / name).read_bytes()) as doc:
            got[name] = stage.recognise(*decode_page(doc, 1)).text
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"pages_per_s": round(len(names) / wall, 3), "cpu_s_per_page": round(cpu / len(names), 3),
            "cer": mean_cer(texts, got)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole comparison; rows in the order they ran."""
    from pipeline.devstack.stack import start_stack

    pages = WORK / "pages"
    texts = make_pages(pages, args.pages)
    bin_dir = Path(args.ocrmypdf)
    have_ocrmypdf = ocrmypdf_installed(bin_dir)
    if not have_ocrmypdf:
        _say(f"OCRmyPDF not installed at {bin_dir} (scripts/ocrmypdf-env.sh installs it): its rows are skipped")
    stack = start_stack()
    env = {**os.environ, **stack.env, "OMP_THREAD_LIMIT": "1"}
    result: dict[str, Any] = {"started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                              "machine": f"{platform.node()} {os.cpu_count()} cores", "pages": args.pages,
                              "jobs": args.jobs, "rows": []}
    try:
        engine = [engine_rate(pages, texts)]
        for r in range(args.rounds):
            plan = [("backfill", lambda: backfill(pages, texts, env))]
            if args.raydata:
                plan.append(("backfill-raydata", lambda: backfill(pages, texts, env, raydata=True)))
            if have_ocrmypdf:
                plan.append(("ocrmypdf-pdf", lambda: ocrmypdf_pdf(bin_dir, pages, texts, env, args.jobs,
                                                                  WORK / "ocrmypdf-pdf")))
                if args.files:
                    plan.append(("ocrmypdf-files", lambda: ocrmypdf_files(bin_dir, pages, texts, env, args.jobs,
                                                                          WORK / "ocrmypdf-files")))
            for name, call in plan if r % 2 == 0 else plan[::-1]:  # A B C, C B A: no one always first
                _say(f"round {r + 1}: {name}")
                row = {"run": name, "round": r + 1, "utc": time.strftime("%H:%M:%S", time.gmtime())} | call()
                row["pages_per_s"] = round(row["pages"] / row["wall_s"], 3)
                result["rows"].append(row)
                _say("  " + _line(row))
        engine.append(engine_rate(pages, texts))  # the machine may be shared: bracket the run
    finally:
        stack.stop()
    result["engine"] = engine
    result["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    if not have_ocrmypdf:
        result["ocrmypdf"] = "not installed: skipped"
    return result


def _line(row: dict[str, Any]) -> str:
    return (f"{row['run']:<17} {row['wall_s']:7.2f} s  {row['pages_per_s']:6.3f} pages/s  cpu {row['cpu_s']:6.1f} s"
            f"  (stack {row['stack_cpu_s']:.1f})  CER {100 * row['cer']:.2f}%  load {row['load_1m']}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run, print a table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=24, help="pages, one PNG file each")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every command, interleaved")
    parser.add_argument("--jobs", type=int, default=2, help="OCRmyPDF's -j (and xargs -P)")
    parser.add_argument("--ocrmypdf", default=str(OCRMYPDF_BIN), help="bin/ of OCRmyPDF's own environment")
    parser.add_argument("--no-raydata", dest="raydata", action="store_false",
                        help="leave out the Ray Data path (OCR_SMALL_JOB_OBJECTS=0)")
    parser.add_argument("--no-files", dest="files", action="store_false",
                        help="leave out OCRmyPDF once a file (xargs -P)")
    args = parser.parse_args(argv)
    result = run(args)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"{args.pages} pages, {result['started_utc']} - {result['finished_utc']} UTC, {result['machine']}")
    for row in result["rows"]:
        print(_line(row))
    for when, e in zip(("before", "after"), result["engine"], strict=True):
        print(f"warm engine ({when})  {e['pages_per_s']:.3f} pages/s, {e['cpu_s_per_page']:.2f} CPU s a page, "
              f"CER {100 * e['cer']:.2f}%")
    if "ocrmypdf" in result:
        print(f"OCRmyPDF: {result['ocrmypdf']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
