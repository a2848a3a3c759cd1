"""Tesseract's defaults against the settings this system adopts, on the stage's own path.

Every page is read by the stage as it runs (resolution, skew, orientation, writing direction),
once per variant of the engine's settings, in one process on one core, page by page in turn
(each variant goes first as often as the others). Per kind of page: CER against the known text,
distinctive words read, seconds a page; per variant: pages/s on one core, and its ratio to
Tesseract's defaults. Quoted in ``docs/benchmarks.md``, never asserted::

    python -m benchmarks.engine_settings [--per-kind 2] [--corpus-pages 24] [--english 6] [--reversed 2]
                                         [--kinds sealed,...]

Variants (``VARIANTS``, each a set of :class:`~pipeline.settings.Settings`; ``adopted`` is the
settings as they ship, ``Settings``' own defaults, so it never drifts from them): the reading
languages (``OCR_LANGUAGES``), Tesseract 5's inverted-line pass (``OCR_INVERT_PASS``: each weak
line read again inverted), the resolution pages are read at (``OCR_MAX_READ_DPI``: a page
scanned finer is reduced to it first), the LSTM's word lists (``OCR_LSTM_DICTIONARY``) and the
certainty under which a stretch is read again by the other language (``OCR_RETRY_CERTAINTY``), and
``jpn`` alone with its lines of Latin script read again by ``eng`` (``OCR_LATIN_LANGUAGE``).
Pages: the scanned kinds of :mod:`benchmarks.scanned`, the harness corpus, English-only invoices
(where every word of four letters or more counts, to see what ``jpn`` alone loses of English),
colour invoices with a seal over the party's name (kind ``sealed``: ``OCR_DROP_STAMPS``),
Mincho pages scanned at 600 DPI, and invoices whose table header is reversed out (white on a
dark band: what the inverted-line pass is for, and what turning it off everywhere lost).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from PIL import Image, ImageDraw

from benchmarks.geometry import Probe, probes, stage_page, tally
from benchmarks.report import write_summary
from benchmarks.scanned import A4_PX, COMPANIES, PEOPLE, draw_lines, font_px, horizontal_lines, mincho
from pipeline.devstack.samples import cjk_font
from pipeline.engine.geometry import turn
from pipeline.engine.quality import character_error_rate
from pipeline.engine.stage import OcrStage
from pipeline.models import PageInput
from pipeline.settings import Settings

DEFAULTS = {"languages": "jpn+eng", "invert_pass": True, "max_read_dpi": 0, "min_read_dpi": 0,  # Tesseract 5's own
            "lstm_dictionary": True, "retry_certainty": -2.5, "latin_language": "", "drop_stamps": False}
NO_DICTIONARY = {**DEFAULTS, "invert_pass": False, "lstm_dictionary": False}
ADOPTED = {name: Settings.model_fields[name].default for name in DEFAULTS}  # the settings as they ship
JPN_LATIN = {**DEFAULTS, "languages": "jpn", "invert_pass": False, "latin_language": "eng"}
VARIANTS = {
    "defaults": DEFAULTS,
    "adopted": ADOPTED,
    "no-invert": {**DEFAULTS, "invert_pass": False},
    "jpn": {**DEFAULTS, "languages": "jpn"},
    "jpn-no-invert": {**DEFAULTS, "languages": "jpn", "invert_pass": False},
    "adopted-invert": {**ADOPTED, "invert_pass": True},
    "adopted-as-scanned": {**ADOPTED, "min_read_dpi": 0},  # coarse scans read at their own resolution
    "adopted-keep-stamps": {**ADOPTED, "drop_stamps": False},  # a seal's ink read as ink
    "jpn-latin": JPN_LATIN,
    "jpn-latin-400max": {**JPN_LATIN, "max_read_dpi": 400},
    "jpn-latin-300max": {**JPN_LATIN, "max_read_dpi": 300},
    "no-invert-300max": {**DEFAULTS, "invert_pass": False, "max_read_dpi": 300},
    "no-invert-200max": {**DEFAULTS, "invert_pass": False, "max_read_dpi": 200},
    "no-dict": NO_DICTIONARY,
    "no-dict-retry-5": {**NO_DICTIONARY, "retry_certainty": -5.0},
    "no-dict-retry-6": {**NO_DICTIONARY, "retry_certainty": -6.0},
    "no-dict-retry-8": {**NO_DICTIONARY, "retry_certainty": -8.0},
    "no-dict-retry-10": {**NO_DICTIONARY, "retry_certainty": -10.0},
    "no-dict-retry-8-200max": {**NO_DICTIONARY, "retry_certainty": -8.0, "max_read_dpi": 200},
}
ENGLISH_FIRMS = ("Harrington & Pryce Ltd", "Oakfield Logistics", "Brightwater Systems", "Calloway Foods",
                 "Northgate Marine", "Whitcombe Legal")
ENGLISH_KINDS = ("english", "english-sans", "english-turned")
ENGLISH_ITEMS = ("Hex bolts M8", "Cable harness", "Control board", "Packing material", "Field service",
                 "Design fee", "Travel expenses", "Inspection")


def english_probes(count: int, seed: int) -> list[Probe]:
    """English-only invoices (A4, 300 DPI, 10 pt), each with its own number, firm and contact, in
    turn: in a serif face (``english``), in a sans-serif one (``english-sans``), and serif turned
    a quarter clockwise (``english-turned``: read line by line once turned back); its words:
    every word of four letters or more (what ``jpn`` alone must still read)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        number, firm = 50000 + rng.randrange(49999), ENGLISH_FIRMS[n % len(ENGLISH_FIRMS)]
        contact = rng.choice(("Margaret Ellison", "Tobias Wren", "Priya Natarajan", "Owen Fairbairn"))
        lines = [f"INVOICE No. {number}", f"Bill to: {firm}", f"Attention: {contact}", "Terms: net 30 days"]
        for item in rng.sample(ENGLISH_ITEMS, 6):
            lines.append(f"{item}  qty {rng.randint(1, 40)}  unit ${rng.randint(5, 900)}.{rng.randint(10, 99)}")
        lines += [f"Total due: ${rng.randint(1000, 99999):,}.00", "Please quote the invoice number on payment."]
        kind = ENGLISH_KINDS[n % len(ENGLISH_KINDS)]
        image = Image.new("L", A4_PX[300], 255)
        draw_lines(image, lines, 300, points=10, face=cjk_font if kind == "english-sans" else None)
        if kind == "english-turned":
            image = turn(image, 270)
        text = "\n".join(lines)
        words = tuple(dict.fromkeys(w.strip(".,:$") for w in text.split() if len(w.strip(".,:$")) >= 4))
        out.append(Probe(kind, PageInput(1, image=image, dpi=300, dpi_source="metadata"), text, words))
    return out


FINE_PRINT_PT = 6.5  # the small print of a contract's terms


def fine_scan_probes(count: int, seed: int) -> list[Probe]:
    """Contract pages in the Mincho face scanned at 600 DPI (as some office scanners are set), in
    turn: as they are, in small print (``FINE_PRINT_PT``: what a page read at a lower resolution
    loses first), and small print scanned bilevel (archival TIFFs: one bit a pixel)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        number = 40000 + rng.randrange(59999)
        company, person = rng.choice(COMPANIES), rng.choice(PEOPLE)
        lines = horizontal_lines(rng, number, company, person, 24)
        image = Image.new("L", (4961, 7016), 255)  # A4 at 600 DPI
        kind = ("upright-600", "upright-600-small", "upright-600-bilevel")[n % 3]
        draw_lines(image, lines, 600, **({"points": FINE_PRINT_PT} if kind != "upright-600" else {}))
        if kind == "upright-600-bilevel":
            image = image.point(lambda v: 255 if v > 128 else 0).convert("1")
        out.append(Probe(kind, PageInput(1, image=image, dpi=600, dpi_source="metadata"), "\n".join(lines),
                         (str(number), company, person)))
    return out


REVERSED_KINDS = ("reversed-black", "reversed-grey")
REVERSED_HEADS = ("品名", "数量", "単価", "金額", "納期")


def reversed_probes(count: int, seed: int) -> list[Probe]:
    """Invoice pages whose table header is set white on a dark band (reversed out, as invoices,
    forms and stamps print headings), in turn on black (``reversed-black``) and on a mid grey
    (``reversed-grey``); its words: the header's own (a person and a company among them), then the
    page's reference number, company and person in the ordinary lines around it."""
    rng = random.Random(seed + 7)
    out = []
    for n in range(count):
        number = 30000 + rng.randrange(69999)
        company, person = rng.choice(COMPANIES), rng.choice(PEOPLE)
        band_company, band_person = rng.choice([c for c in COMPANIES if c != company]), rng.choice(PEOPLE)
        kind = REVERSED_KINDS[n % len(REVERSED_KINDS)]
        lines = horizontal_lines(rng, number, company, person, 16)
        image = Image.new("L", A4_PX[300], 255)
        draw_lines(image, lines[:8], 300)
        heading = f"{'  '.join(rng.sample(REVERSED_HEADS, 4))}  {band_company}  担当 {band_person}"
        top = reversed_band(image, heading, 0 if kind == "reversed-black" else 96)
        draw_lines_at(image, lines[8:], 300, top)
        words = (str(number), company, person, band_company, band_person, *[h for h in REVERSED_HEADS if h in heading])
        out.append(Probe(kind, PageInput(1, image=image, dpi=300, dpi_source="metadata"),
                         "\n".join([*lines[:8], heading, *lines[8:]]), tuple(dict.fromkeys(words))))
    return out


def reversed_band(image: Image.Image, heading: str, fill: int) -> int:
    """``heading`` in white on a band of grey ``fill`` across the page under its first eight
    lines (at 300 DPI, 10 pt); the row under the band."""
    size = font_px(300, 10)
    top = round(300 * 0.6) + round(8 * font_px(300) * 1.5) + size
    draw = ImageDraw.Draw(image)
    draw.rectangle((round(300 * 0.5), top - size // 2, image.width - round(300 * 0.5), top + size * 3 // 2), fill=fill)
    draw.text((round(300 * 0.6), top), heading, font=mincho(size), fill=255)
    return top + size * 3


def draw_lines_at(image: Image.Image, lines: list[str], dpi: int, top: int) -> None:
    """``lines`` as :func:`benchmarks.scanned.draw_lines` draws them, from row ``top`` down."""
    size = font_px(dpi)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((round(dpi * 0.6), top + round(i * size * 1.5)), line, font=mincho(size), fill=0)


def stage_for(variant: dict) -> OcrStage:
    """A stage set up with ``variant``'s settings (each its own warm engine)."""
    stage = OcrStage(Settings(**variant))
    stage.setup()
    return stage


def read(stage: OcrStage, probe: Probe) -> tuple[str, float, float]:
    """(text, CPU seconds, wall seconds) of one page through the stage (a copy: the stage closes
    what it reads). The engine runs on this process's one thread, so its CPU time is the work a
    page costs a core, whatever else the machine runs meanwhile; wall time is beside it."""
    page = stage_page(stage, probe)
    cpu, wall = time.process_time(), time.perf_counter()
    text = stage.recognise(page).text
    return text, time.process_time() - cpu, time.perf_counter() - wall


def run(args: argparse.Namespace) -> dict:
    """Read every probe with every variant; the summary by kind and variant."""
    names = [n for n in VARIANTS if n in args.variants.split(",")]
    stages = {name: stage_for(VARIANTS[name]) for name in names}
    pages = (probes(args.per_kind, 24, args.corpus_pages, args.seed) + english_probes(args.english, args.seed)
             + fine_scan_probes(args.fine, args.seed) + reversed_probes(args.reversed, args.seed))
    if args.kinds:
        pages = [p for p in pages if p.kind in args.kinds.split(",")]
    rows = []
    for n, probe in enumerate(pages):
        order = names[n % len(names):] + names[: n % len(names)]
        for name in order:
            text, seconds, wall = read(stages[name], probe)
            squashed = "".join(text.split())
            missed = [w for w in probe.words if w not in squashed]
            rows.append({"kind": probe.kind, "variant": name, "seconds": seconds, "wall_s": wall,
                         "cer": character_error_rate(probe.text, text), "words": len(probe.words),
                         "found": len(probe.words) - len(missed), "missed": missed})
        print(f"{n + 1}/{len(pages)} {probe.kind}", flush=True)
    return summarise(rows, names, args)


def summarise(rows: list[dict], names: list[str], args: argparse.Namespace) -> dict:
    """Per (kind, variant): pages, mean CER, words found (and those missed), CPU and wall seconds a
    page; per variant: pages/s of one core (CPU time), its ratio to ``defaults``, mean CER and words."""
    clocks = ("seconds", "wall_s")
    by = tally(rows, ("kind", "variant"), clocks, rate="seconds")
    variants = tally(rows, ("variant",), clocks, rate="seconds")
    totals = {name: variants[name] for name in names}
    base = totals.get("defaults", {}).get("pages_per_s")
    for cell in totals.values():
        cell["speed_vs_defaults"] = round(cell["pages_per_s"] / base, 3) if base else None
    return {"command": f"python -m benchmarks.engine_settings --per-kind {args.per_kind} --corpus-pages "
                       f"{args.corpus_pages} --english {args.english} --fine {args.fine} --reversed {args.reversed} "
                       f"--seed {args.seed} " + (f"--kinds {args.kinds} " if args.kinds else "")
                       + f"--variants {args.variants}",
            "variants": {n: VARIANTS[n] for n in names}, "totals": totals, "by_kind": by}


def table(summary: dict) -> str:
    """Markdown: one row per kind (CER / words for each variant), then each variant's totals."""
    names = list(summary["totals"])
    head = "| kind | " + " | ".join(f"{n} CER | words | CPU s" for n in names) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(names))]
    for kind, cells in summary["by_kind"].items():
        parts = [f"{100 * cells[n]['cer']:.1f}% | {cells[n]['found']}/{cells[n]['words']} | {cells[n]['seconds']:.2f}"
                 for n in names]
        lines.append(f"| {kind} | " + " | ".join(parts) + " |")
    lines += ["", "| variant | pages/s (1 core, CPU time) | vs defaults | mean CER | words | missed |",
              "|---|---|---|---|---|---|"]
    for n, t in summary["totals"].items():
        ratio = f"{t['speed_vs_defaults']:.2f}x" if t["speed_vs_defaults"] else "-"
        lines.append(f"| {n} | {t['pages_per_s']:.3f} | {ratio} | {100 * t['cer']:.2f}% | "
                     f"{t['found']}/{t['words']} | {', '.join(t['missed'][:12])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.engine_settings``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_settings", description=__doc__)
    parser.add_argument("--per-kind", type=int, default=2, help="scanned pages of each kind (0: none)")
    parser.add_argument("--corpus-pages", type=int, default=24, help="pages of the harness corpus")
    parser.add_argument("--english", type=int, default=6, help="English-only pages")
    parser.add_argument("--fine", type=int, default=2, help="Mincho pages scanned at 600 DPI")
    parser.add_argument("--reversed", type=int, default=2, help="invoice pages with a header reversed out")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names from VARIANTS")
    parser.add_argument("--kinds", default="", help="comma-separated kinds to read (default: every kind)")
    parser.add_argument("--out", type=Path, default=Path("out/engine_settings.json"))
    args = parser.parse_args(argv)
    summary = run(args)
    write_summary(summary, args.out)
    print(table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
