"""Small generated objects: one-line scans (600x120 px) up to a quarter A4 page at 300 DPI,
Japanese with a number of their own, rendered with :func:`pipeline.devstack.samples.render_page`.

Each is a :class:`benchmarks.corpus.BenchDoc` (key, PNG bytes, known text), so the harness's
limit, stream, backfill and quality code take them as they take the corpus's pages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image

from benchmarks.corpus import COMPANIES, ITEMS, BenchDoc, Query
from pipeline.devstack.samples import encode, render_page

FONT = 40  # about 10 pt at 300 DPI


@dataclass(frozen=True)
class Size:
    """A kind of small object: its pixel size and how many text lines it carries."""

    width: int
    height: int
    lines: int
    share: float = 1.0  # objects of this size per ``--objects`` (quarter pages cost ~25 one-line ones)


SIZES = {
    "line": Size(600, 120, 1),  # a one-line receipt strip, a stamp
    "receipt": Size(600, 600, 5, 0.25),  # a till receipt
    "quarter": Size(1240, 1754, 12, 0.1),  # a quarter of an A4 page at 300 DPI
}


def text_lines(number: int, lines: int, rng: random.Random) -> list[str]:
    """``lines`` lines of Japanese, the first with ``number`` (so no two objects read alike)."""
    first = f"{rng.choice(COMPANIES)} {number}"
    rest = [f"{rng.choice(ITEMS)} {rng.randint(1, 900) * 100}円" for _ in range(lines - 1)]
    return [first, *rest]


def render(size: Size, lines: list[str]) -> Image.Image:
    """The lines on a white image of exactly ``size`` (rendered, then cropped or padded)."""
    block = render_page(lines, width=size.width, font_size=FONT)
    top = int(FONT * 1.8) - (size.height - FONT) // 2 if size.lines == 1 else 0  # centre a single line
    page = Image.new("L", (size.width, size.height), 255)
    page.paste(block.crop((0, max(0, top), size.width, max(0, top) + min(block.height, size.height))), (0, 0))
    return page


def count_of(size_name: str, objects: int) -> int:
    """How many objects of this size a run of ``objects`` makes (at least 8)."""
    return max(8, round(objects * SIZES[size_name].share))


def small_docs(count: int, size_name: str, seed: int = 17) -> list[BenchDoc]:
    """``count`` PNG objects of one size, each with its own number."""
    size = SIZES[size_name]
    rng = random.Random(f"{seed}-{size_name}")
    docs = []
    for i in range(count):
        number = 10_000 + i
        lines = text_lines(number, size.lines, rng)
        data = encode(render(size, lines), "PNG")
        query = Query(lines[0].split()[0], (str(number),))
        docs.append(BenchDoc(f"bench/small/{size_name}/{i:05d}.png", data, size_name, ["\n".join(lines)], query))
    return docs
