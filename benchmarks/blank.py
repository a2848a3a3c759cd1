"""The ink test measured: blank pages as scanners make them (noise, dust, punched-hole shadows,
JPEG artefacts, a grey scanner background, show-through), pages that are nearly empty but carry
text (one short word, faint grey text, a page number alone, a one-line small image), and every
page of the benchmark corpora: which are called blank, and how long the test takes a page (CPU
milliseconds, ``time.process_time``: what it costs a core whatever else runs beside it).

    python -m benchmarks.blank [--corpus-pages 24]

Each page is decoded as the stage decodes it (:class:`~pipeline.engine.documents.OpenedDocument`).
Each page the first look settles (at ~75 DPI) is also judged by the full test (150 DPI): the look
must only settle pages the full test calls inked without grouping (``look disagreed`` counts the
others).
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from benchmarks.scanned import A4_PX, font_px, mincho, png, tiff
from pipeline.devstack.samples import cjk_font, render_page
from pipeline.engine.blank import DENSE_MM2, ink_test
from pipeline.engine.documents import OpenedDocument

DPI = 300


@dataclass
class SamplePage:
    """A generated page: its name, the image, how it is stored, and whether it has text."""

    name: str
    image: Image.Image | None
    fmt: str  # "png", "jpeg-<quality>", "tiff" (1-bit G4), "pdf", or "bytes" (``stored`` as given)
    has_text: bool
    stored: bytes = b""
    text: str = ""  # what is written on it, where known

    @property
    def data(self) -> bytes:
        """The page as the object's bytes."""
        if self.fmt == "bytes":
            return self.stored
        assert self.image is not None
        if self.fmt.startswith("jpeg-"):
            return _jpeg(self.image, int(self.fmt.split("-")[1]))
        return {"png": lambda: png(self.image, DPI), "png-nodpi": lambda: png(self.image, None),
                "tiff": lambda: tiff(self.image, DPI), "pdf": lambda: _pdf(self.image)}[self.fmt]()

    def decoded(self) -> list[tuple[Image.Image, int]]:
        """(image, dpi) of each page as the stage decodes it (a lossless PNG: the image itself)."""
        if self.fmt == "png" and self.image is not None:
            return [(self.image, DPI)]
        with OpenedDocument(self.data, 120_000_000, 2000, DPI) as doc:
            pages = [doc.page(n) for n in range(1, doc.page_count + 1)]
            return [(p.image.copy(), p.dpi or DPI) for p in pages if p.image is not None]


def mm(value: float, dpi: int = DPI) -> int:
    """Millimetres in pixels at ``dpi``."""
    return round(value * dpi / 25.4)


def _noisy(page: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    """Sensor noise: Gaussian, ``sigma`` grey levels (Pillow's generator, seeded by nothing: the
    verdicts must not depend on the draw)."""
    return ImageChops.add(page, Image.effect_noise(page.size, sigma), scale=1.0, offset=-128)


def _dust(page: Image.Image, specks: int, rng: random.Random) -> Image.Image:
    """Dust on the glass: dark specks up to 0.3 mm across."""
    page = page.copy()
    draw = ImageDraw.Draw(page)
    for _ in range(specks):
        x, y, r = rng.randrange(page.width), rng.randrange(page.height), rng.uniform(0.5, 1.8)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randrange(20, 120))
    return page


def _holes(page: Image.Image, level: int = 70) -> Image.Image:
    """Two punched holes' shadows (ISO 838: 6 mm, centres 12 mm from the edge, 80 mm apart)."""
    page = page.copy()
    draw = ImageDraw.Draw(page)
    middle = page.height // 2
    for cy in (middle - mm(40), middle + mm(40)):
        draw.ellipse((mm(9), cy - mm(3), mm(15), cy + mm(3)), fill=level)
    return page


def _jpeg(page: Image.Image, quality: int = 30) -> bytes:
    buf = io.BytesIO()
    page.save(buf, format="JPEG", quality=quality, dpi=(DPI, DPI))
    return buf.getvalue()


def _grey_background(level: int, rng: random.Random) -> Image.Image:
    """A scanner's grey lid: ``level`` with a gentle fall-off (6 levels) across the page."""
    width, height = A4_PX[DPI]
    ramp = np.linspace(0, -6, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    return _noisy(Image.fromarray(np.clip(level + ramp, 0, 255).astype(np.uint8)), 4, rng)


def _word(page: Image.Image, text: str, xy: tuple[int, int], points: float, fill: int, serif: bool = True) -> None:
    size = font_px(DPI, points)
    ImageDraw.Draw(page).text(xy, text, font=mincho(size) if serif else cjk_font(size), fill=fill)


def blank_pages(seed: int = 5) -> list[SamplePage]:
    """Blank sheets as scanners make them; each should be called blank."""
    rng = random.Random(seed)
    white = Image.new("L", A4_PX[DPI], 255)
    noisy = _noisy(white, 6, rng)
    show_through = white.copy()
    for i in range(20):  # the other side's text, mirrored, seen through the paper
        _word(show_through, "秘密保持 契約期間 Contract 2024", (mm(25), mm(30) + i * mm(9)), 10, 238)
    show_through = _noisy(show_through.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 3, rng)
    salt = white.copy()
    px = salt.load()
    for _ in range(white.width * white.height // 3000):
        px[rng.randrange(white.width), rng.randrange(white.height)] = rng.choice((0, 255))
    return [
        SamplePage("blank-white", white, "png", False),
        SamplePage("blank-noise", noisy, "png", False),
        SamplePage("blank-dust", _dust(noisy, 60, rng), "png", False),
        SamplePage("blank-punched-holes", _holes(noisy), "png", False),
        SamplePage("blank-holes-dust-jpeg", _dust(_holes(noisy), 40, rng), "jpeg-30", False),
        SamplePage("blank-jpeg-q30", noisy, "jpeg-30", False),
        SamplePage("blank-grey-background", _grey_background(226, rng), "png", False),
        SamplePage("blank-grey-jpeg-holes", _holes(_grey_background(214, rng), 40), "jpeg-30", False),
        SamplePage("blank-show-through", show_through, "png", False),
        SamplePage("blank-salt-pepper", salt.filter(ImageFilter.GaussianBlur(0.6)), "png", False),
        SamplePage("blank-fax-tiff", _dust(white, 30, rng), "tiff", False),
        SamplePage("blank-pdf-scan", noisy, "pdf", False),
    ]


def _pdf(page: Image.Image) -> bytes:
    buf = io.BytesIO()
    page.save(buf, format="PDF", resolution=float(DPI))
    return buf.getvalue()


def faint_pages(seed: int = 6) -> list[SamplePage]:
    """Pages that are nearly empty but carry text; none may be called blank."""
    rng = random.Random(seed)
    pages = []
    for level in (190, 200, 215):
        page = Image.new("L", A4_PX[DPI], 255)
        _word(page, "秘密保持契約書 Contract terms", (mm(25), mm(30)), 9, level)
        pages.append(SamplePage(f"faint-line-{level}", _noisy(page, 3, rng), "png", True,
                                text="秘密保持契約書 Contract terms"))
        word = Image.new("L", A4_PX[DPI], 255)
        _word(word, "済", (mm(120), mm(200)), 10, level)
        pages.append(SamplePage(f"faint-word-{level}", _noisy(word, 3, rng), "png", True, text="済"))
        grey = _grey_background(226, rng)
        _word(grey, "No. 5", (mm(30), mm(40)), 9, round(level * 226 / 255), serif=False)
        pages.append(SamplePage(f"faint-word-on-grey-{level}", grey, "jpeg-60", True, text="No. 5"))
    for text, points in (("OK", 8), ("済", 8), ("No. 1", 8), ("了", 10)):
        page = _noisy(Image.new("L", A4_PX[DPI], 255), 4, rng)
        _word(page, text, (mm(rng.uniform(20, 170)), mm(rng.uniform(20, 260))), points, 0, serif=False)
        pages.append(SamplePage(f"short-word-{text}-{points}pt", page, "png", True, text=text))
    footer = _holes(_noisy(Image.new("L", A4_PX[DPI], 255), 4, rng))
    _word(footer, "- 2 -", (mm(100), A4_PX[DPI][1] - mm(12)), 9, 0, serif=False)
    pages.append(SamplePage("page-number-alone-with-holes", footer, "png", True, text="- 2 -"))
    beside = _holes(Image.new("L", A4_PX[DPI], 255))
    _word(beside, "写", (mm(20), A4_PX[DPI][1] // 2 - mm(40)), 9, 0)
    pages.append(SamplePage("one-kanji-beside-a-hole", beside, "png", True, text="写"))
    line = render_page(["株式会社サンプル 御中"], width=620, font_size=28)
    pages.append(SamplePage("one-line-small-image", line, "png-nodpi", True, text="株式会社サンプル 御中"))
    pages.append(SamplePage("one-line-small-image-faint", faint_lines(["株式会社サンプル 御中"], 205, 620, 28),
                            "png-nodpi", True, text="株式会社サンプル 御中"))
    return pages


def faint_lines(lines: list[str], level: int, width: int = 1200, font_size: int = 40,
                a4: bool = False) -> Image.Image:
    """The lines in grey ``level`` on white (no noise: quick for the engine), alone or near the top
    of an A4 page at 300 DPI."""
    block = render_page(lines, width=width, font_size=font_size).point(
        lambda v: 255 - (255 - v) * (255 - level) // 255)
    if not a4:
        return block
    page = Image.new("L", A4_PX[DPI], 255)
    page.paste(block, (mm(25), mm(30)))
    return page


def corpus_pages(pages: int) -> list[SamplePage]:
    """Every page of the benchmark corpora: ``benchmarks.corpus.generate`` and every scanned kind."""
    from benchmarks.corpus import generate
    from benchmarks.scanned import scanned_pages

    docs = [SamplePage(d.key, None, "bytes", True, d.data) for d in generate(pages)]
    return docs + [SamplePage(p.key, None, "bytes", True, p.data) for p in scanned_pages()]


class Verdict(NamedTuple):
    """The ink test on one page: called blank, its ink, CPU seconds; whether the first look settled
    it, and if so whether the full test (150 DPI) agrees: inked by its ``DENSE_MM2`` rule alone."""

    name: str
    blank: bool
    ink_mm2: float
    cpu_s: float
    first_look: bool
    look_agrees: bool


def verdicts(page: SamplePage) -> list[Verdict]:
    """A :class:`Verdict` for each image page of the sample's document (a text layer is never tested)."""
    out = []
    for number, (image, dpi) in enumerate(page.decoded(), 1):
        started = time.process_time()
        reading = ink_test(image, dpi)
        cpu_s = time.process_time() - started
        full = ink_test(image, dpi, first_look=False) if reading.first_look else None
        agrees = full is None or (not full.blank and full.ink_mm2 > DENSE_MM2)
        out.append(Verdict(f"{page.name}#{number}", reading.blank, reading.ink_mm2, cpu_s, reading.first_look, agrees))
    return out


def main(argv: list[str] | None = None) -> int:
    """Print each group's verdicts and the time per page."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus-pages", type=int, default=24)
    args = p.parse_args(argv)
    groups = {"blank": blank_pages(), "text (nearly empty, faint)": faint_pages(),
              "text (benchmark corpora)": corpus_pages(args.corpus_pages)}
    wrong = disagreed = 0
    a4_seconds = []
    for title, pages in groups.items():
        results = [r for page in pages for r in verdicts(page)]
        want_blank = title == "blank"
        misses = [r for r in results if r[1] != want_blank]
        wrong += len(misses)
        disagreed += sum(not r.look_agrees for r in results)
        called = sum(r.blank for r in results)
        looked = sum(r.first_look for r in results)
        print(f"{title}: {len(results)} pages, {called} called blank, {len(results) - called} with text, "
              f"{looked} settled at the first look")
        for r in results:
            flag = ("  WRONG" if r.blank != want_blank else "") + ("" if r.look_agrees else "  LOOK DISAGREED")
            look = "look" if r.first_look else "    "
            print(f"  {r.name:<44} {'blank' if r.blank else 'ink  '} {look} {r.ink_mm2:9.2f} mm²  "
                  f"{r.cpu_s * 1000:6.1f} CPU ms{flag}")
        a4_seconds += [r.cpu_s for r in results if not r.name.startswith(("one-line", "bench/"))]
    image = blank_pages()[1].image
    started = time.process_time()
    for _ in range(20):
        ink_test(image, DPI)
    loop_ms = (time.process_time() - started) / 20 * 1000
    print(f"A4 at 300 DPI: median {statistics.median(a4_seconds) * 1000:.1f} CPU ms, "
          f"max {max(a4_seconds) * 1000:.1f} CPU ms a page ({len(a4_seconds)} pages); "
          f"the same blank page 20 times: {loop_ms:.1f} CPU ms")
    print(f"wrong verdicts: {wrong}; look disagreed with the full test: {disagreed}")
    return 1 if wrong or disagreed else 0


if __name__ == "__main__":
    raise SystemExit(main())
