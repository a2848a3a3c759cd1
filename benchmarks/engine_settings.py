"""Tesseract's defaults against the settings this system adopts, on the stage's own path.

Every page is read by the stage as it runs (resolution, skew, orientation, writing direction),
once per variant of the engine's settings, in one process on one core, page by page in turn
(each variant goes first as often as the others). Per kind of page: CER against the known text,
distinctive words read, seconds a page; per variant: pages/s on one core, and its ratio to
Tesseract's defaults. Quoted in ``docs/benchmarks.md``, never asserted::

    python -m benchmarks.engine_settings [--per-kind 2] [--corpus-pages 24] [--english 6]

Variants (``VARIANTS``): the reading languages, Tesseract 5's inverted-line pass
(``tessedit_do_invert``: each weak line read again inverted), and the resolution pages are read
at (``read_dpi``: a page scanned finer is reduced to it first; 0 = as scanned).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from benchmarks.geometry import Probe, probes
from benchmarks.scanned import A4_PX, draw_lines
from pipeline.engine.documents import PageInput
from pipeline.engine.quality import character_error_rate
from pipeline.engine.stage import OcrStage
from pipeline.settings import Settings


@dataclass(frozen=True)
class Variant:
    """One way of setting the engine up: languages, the inverted-line pass, the read resolution."""

    languages: str
    invert: bool
    read_dpi: int = 0


VARIANTS = {
    "defaults": Variant("jpn+eng", True),  # Tesseract 5's own: the inverted-line pass on
    "no-invert": Variant("jpn+eng", False),
    "jpn": Variant("jpn", True),
    "jpn-no-invert": Variant("jpn", False),
    "no-invert-200dpi": Variant("jpn+eng", False, 200),
}
ENGLISH_FIRMS = ("Harrington & Pryce Ltd", "Oakfield Logistics", "Brightwater Systems", "Calloway Foods",
                 "Northgate Marine", "Whitcombe Legal")
ENGLISH_ITEMS = ("Hex bolts M8", "Cable harness", "Control board", "Packing material", "Field service",
                 "Design fee", "Travel expenses", "Inspection")


def english_probes(count: int, seed: int) -> list[Probe]:
    """English-only letters/invoices in a serif face (A4, 300 DPI, 10 pt), each with its own
    number, firm and a contact: what ``jpn`` alone must still read."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        number, firm = 50000 + rng.randrange(49999), ENGLISH_FIRMS[n % len(ENGLISH_FIRMS)]
        contact = rng.choice(("Margaret Ellison", "Tobias Wren", "Priya Natarajan", "Owen Fairbairn"))
        lines = [f"INVOICE No. {number}", f"Bill to: {firm}", f"Attention: {contact}", "Terms: net 30 days"]
        for item in rng.sample(ENGLISH_ITEMS, 6):
            lines.append(f"{item}  qty {rng.randint(1, 40)}  unit ${rng.randint(5, 900)}.{rng.randint(10, 99)}")
        lines += [f"Total due: ${rng.randint(1000, 99999):,}.00", "Please quote the invoice number on payment."]
        image = Image.new("L", A4_PX[300], 255)
        draw_lines(image, lines, 300, points=10)
        out.append(Probe("english", PageInput(1, image=image, dpi=300, dpi_source="metadata"), "\n".join(lines),
                         (str(number), firm.split()[0], contact.split()[1])))
    return out


def stage_for(variant: Variant) -> OcrStage:
    """A stage whose engine is set up as ``variant`` says (each its own warm engine)."""
    stage = OcrStage(Settings(languages=variant.languages, invert_pass=variant.invert))
    stage.setup()
    return stage


def read(stage: OcrStage, variant: Variant, probe: Probe) -> tuple[str, float]:
    """(text, seconds) of one page through the stage, reduced to ``read_dpi`` first if finer."""
    image, dpi = probe.page.image, probe.page.dpi or 300
    assert image is not None
    started = time.perf_counter()
    if variant.read_dpi and dpi > variant.read_dpi:
        scale = variant.read_dpi / dpi
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        dpi = variant.read_dpi
    else:
        image = image.copy()
    page = PageInput(probe.page.page, image=image, dpi=dpi, dpi_source=probe.page.dpi_source)
    text = stage.recognise(page).text
    return text, time.perf_counter() - started


def run(args: argparse.Namespace) -> dict:
    """Read every probe with every variant; the summary by kind and variant."""
    names = [n for n in VARIANTS if n in args.variants.split(",")]
    stages = {name: stage_for(VARIANTS[name]) for name in names}
    pages = probes(args.per_kind, 24, args.corpus_pages, args.seed) + english_probes(args.english, args.seed)
    rows = []
    for n, probe in enumerate(pages):
        order = names[n % len(names):] + names[: n % len(names)]
        for name in order:
            text, seconds = read(stages[name], VARIANTS[name], probe)
            squashed = "".join(text.split())
            rows.append({"kind": probe.kind, "variant": name, "seconds": seconds,
                         "cer": character_error_rate(probe.text, text),
                         "words": len(probe.words), "found": sum(w in squashed for w in probe.words)})
        print(f"{n + 1}/{len(pages)} {probe.kind}", flush=True)
    return summarise(rows, names, args)


def summarise(rows: list[dict], names: list[str], args: argparse.Namespace) -> dict:
    """Per (kind, variant): pages, mean CER, words found, seconds a page; per variant: pages/s,
    its ratio to ``defaults``, mean CER and words over every page."""
    by: dict[str, dict[str, dict]] = {}
    for row in rows:
        cell = by.setdefault(row["kind"], {}).setdefault(row["variant"], _cell())
        _add(cell, row)
    totals = {name: _cell() for name in names}
    for row in rows:
        _add(totals[row["variant"]], row)
    for cell in [*totals.values(), *(c for cells in by.values() for c in cells.values())]:
        cell["pages_per_s"] = round(cell["pages"] / cell["seconds"], 4)
        cell["cer"] = round(cell["cer"] / cell["pages"], 4)
        cell["seconds"] = round(cell["seconds"] / cell["pages"], 3)
    base = totals.get("defaults", {}).get("pages_per_s")
    for cell in totals.values():
        cell["speed_vs_defaults"] = round(cell["pages_per_s"] / base, 3) if base else None
    return {"command": f"python -m benchmarks.engine_settings --per-kind {args.per_kind} --corpus-pages "
                       f"{args.corpus_pages} --english {args.english} --seed {args.seed} --variants {args.variants}",
            "variants": {n: VARIANTS[n].__dict__ for n in names}, "totals": totals, "by_kind": by}


def table(summary: dict) -> str:
    """Markdown: one row per kind (CER / words for each variant), then each variant's totals."""
    names = list(summary["totals"])
    lines = ["| kind | " + " | ".join(f"{n} CER | words" for n in names) + " |", "|" + "---|" * (1 + 2 * len(names))]
    for kind, cells in summary["by_kind"].items():
        parts = [f"{100 * cells[n]['cer']:.1f}% | {cells[n]['found']}/{cells[n]['words']}" for n in names]
        lines.append(f"| {kind} | " + " | ".join(parts) + " |")
    lines += ["", "| variant | pages/s (1 core) | vs defaults | mean CER | words |", "|---|---|---|---|---|"]
    for n, t in summary["totals"].items():
        lines.append(f"| {n} | {t['pages_per_s']:.3f} | {t['speed_vs_defaults']:.2f}x | {100 * t['cer']:.2f}% | "
                     f"{t['found']}/{t['words']} |")
    return "\n".join(lines)


def _cell() -> dict:
    return {"pages": 0, "cer": 0.0, "found": 0, "words": 0, "seconds": 0.0}


def _add(cell: dict, row: dict) -> None:
    cell["pages"] += 1
    for name in ("cer", "found", "words", "seconds"):
        cell[name] += row[name]


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.engine_settings``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_settings", description=__doc__)
    parser.add_argument("--per-kind", type=int, default=2, help="scanned pages of each kind (0: none)")
    parser.add_argument("--corpus-pages", type=int, default=24, help="pages of the harness corpus")
    parser.add_argument("--english", type=int, default=6, help="English-only pages")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names from VARIANTS")
    parser.add_argument("--out", type=Path, default=Path("out/engine_settings.json"))
    args = parser.parse_args(argv)
    summary = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
