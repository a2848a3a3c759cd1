"""How a page reaches the engine: tesserocr's ``SetImage`` against raw pixels, and a scanned PDF
page rendered grey, rendered in colour then greyed, or taken as its own embedded image, on the
harness's pages (time and CER, one process).

    python -m benchmarks.engine_input [--pages 40]

``SetImage(PIL.Image)`` re-encodes the image for Leptonica to decode again; the stage hands
Tesseract the raw pixels (``pipeline.engine.ocr.set_pixels``). Quoted in the README, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["OMP_THREAD_LIMIT"] = "1"

from benchmarks.corpus import generate
from benchmarks.quality import character_error_rate
from pipeline.engine.documents import OpenedDocument
from pipeline.engine.ocr import set_pixels
from pipeline.engine.textclean import clean_text
from pipeline.settings import Settings


def compare_inputs(pages: int) -> dict[str, dict[str, float]]:
    """Per input method: engine seconds, mean CER on clean and on degraded pages."""
    import tesserocr

    s = Settings()
    api = tesserocr.PyTessBaseAPI(path=s.tessdata, lang=s.languages)
    methods = {
        "SetImage (PNG round trip)": api.SetImage,
        "raw pixels (SetImageBytes)": lambda im: set_pixels(api, im, 300),
    }
    seconds = dict.fromkeys(methods, 0.0)
    cer: dict[str, list[tuple[bool, float]]] = {m: [] for m in methods}
    for doc in generate(pages, degraded=True):
        with OpenedDocument(doc.data, s.max_pixels, s.max_pages, s.dpi) as opened:
            for number in range(1, opened.page_count + 1):
                image = opened.page(number).image
                if image is None:
                    continue
                image = image.copy()
                for name, put in methods.items():
                    started = time.perf_counter()
                    put(image)
                    api.Recognize()
                    text = api.GetUTF8Text()
                    api.Clear()
                    seconds[name] += time.perf_counter() - started
                    cer[name].append((doc.clean, character_error_rate(doc.pages[number - 1], clean_text(text))))
    api.End()
    return {name: {"engine_s": round(seconds[name], 2), "cer_clean": _mean(cer[name], True),
                   "cer_degraded": _mean(cer[name], False)} for name in methods}


def compare_rasters(pages: int, dpi: int = 300) -> dict[str, float]:
    """Seconds per PDF page: pdfium's grey rendering, colour rendering converted to grey, and the
    page's own image (``pdf.embedded_scan``, what the stage now does with a scanned page)."""
    import pypdfium2 as pdfium

    from pipeline.engine.pdf import embedded_scan

    totals = {"grey": 0.0, "colour -> grey": 0.0, "embedded scan": 0.0}
    count = 0
    for doc in (d for d in generate(pages, degraded=False) if d.key.endswith(".pdf")):
        pdf = pdfium.PdfDocument(doc.data)
        for page in pdf:
            started = time.perf_counter()
            page.render(scale=dpi / 72, grayscale=True).to_pil()
            middle = time.perf_counter()
            page.render(scale=dpi / 72, rev_byteorder=True).to_pil().convert("L")
            last = time.perf_counter()
            if embedded_scan(page, dpi, 120_000_000) is None:
                raise RuntimeError(f"{doc.key}: not taken as a scan")
            totals["grey"] += middle - started
            totals["colour -> grey"] += last - middle
            totals["embedded scan"] += time.perf_counter() - last
            count += 1
            page.close()
        pdf.close()
    return {k: round(v / max(count, 1), 4) for k, v in totals.items()}


def _mean(rows: list[tuple[bool, float]], clean: bool) -> float:
    values = [c for is_clean, c in rows if is_clean == clean]
    return round(sum(values) / len(values), 4) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Print both comparisons."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_input", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args(argv)
    for name, row in compare_inputs(args.pages).items():
        print(f"{name:<28} engine {row['engine_s']:7.2f} s  CER clean {row['cer_clean']:.2%}  "
              f"degraded {row['cer_degraded']:.2%}")
    for name, value in compare_rasters(args.pages).items():
        print(f"PDF page {name:<20} {value:.4f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
