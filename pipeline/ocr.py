"""The engine: one warm Tesseract per process, single-threaded, with a per-page time-out.

The program owns the thread budget: ``OMP_THREAD_LIMIT=1`` is set before Tesseract is loaded
(without it a page takes ~17 s instead of ~2 s on 2 cores), and one engine runs per process.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"

from PIL import Image

from pipeline.errors import ConfigError, EngineTimeout


@dataclass(frozen=True)
class Recognised:
    """The engine's answer for one image."""

    text: str
    confidence: float
    seconds: float


class Engine:
    """A warm ``PyTessBaseAPI``: the language data is loaded once, then reused for every page."""

    def __init__(self, languages: str, tessdata: str) -> None:
        import tesserocr

        check_languages(languages, tessdata)
        self.languages = languages
        self.tessdata = tessdata
        self.version = "tesseract " + tesserocr.tesseract_version().split()[1]
        self._api = tesserocr.PyTessBaseAPI(path=tessdata, lang=languages)

    def recognise(self, image: Image.Image, timeout_s: float) -> Recognised:
        """OCR one page image; raises :class:`EngineTimeout` past ``timeout_s``."""
        started = time.perf_counter()
        set_pixels(self._api, image)
        if not self._api.Recognize(timeout=int(timeout_s * 1000)):
            self._api.Clear()
            raise EngineTimeout(f"the engine gave up on the page after {timeout_s:g} s")
        text = self._api.GetUTF8Text()
        confidence = float(self._api.MeanTextConf())
        self._api.Clear()
        return Recognised(text, confidence, time.perf_counter() - started)

    def close(self) -> None:
        """Free the engine."""
        self._api.End()


_BYTES_PER_PIXEL = {"L": 1, "RGB": 3, "RGBA": 4}


def set_pixels(api, image: Image.Image) -> None:
    """Hand the page's raw pixels to Tesseract (``SetImageBytes``).

    tesserocr's ``SetImage(PIL.Image)`` re-encodes the image (as PNG for a decoded page) for
    Leptonica to decode again: ~0.07 s of a 300-DPI A4 page's ~0.4 s. Raw pixels skip both, and
    the text is better for it (``python -m benchmarks.engine_input``: CER 2.35% -> 1.93% on
    clean pages, 3.29% -> 0.77% on degraded ones). Other modes are converted to 8-bit grey first.
    """
    if image.mode not in _BYTES_PER_PIXEL:
        image = image.convert("L")
    depth = _BYTES_PER_PIXEL[image.mode]
    api.SetImageBytes(image.tobytes(), image.width, image.height, depth, depth * image.width)


def check_languages(languages: str, tessdata: str) -> None:
    """Raise :class:`ConfigError` naming each missing ``.traineddata`` file."""
    missing = [lang for lang in languages.split("+") if not (Path(tessdata) / f"{lang}.traineddata").is_file()]
    if missing:
        raise ConfigError(
            f"no language data for {', '.join(missing)} in {tessdata} "
            "(Debian: apt-get install " + " ".join(f"tesseract-ocr-{m}" for m in missing) + ")"
        )


@lru_cache(maxsize=4)
def get_engine(languages: str, tessdata: str, engine: str = "pipeline.ocr:Engine") -> Engine:
    """The process's warm engine for these languages (created on first use).

    ``engine`` names the class as ``module:Class`` (the seam where tests inject faults).
    """
    import importlib

    module, _, name = engine.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load the engine {engine!r}: {exc}") from None
    return cls(languages, tessdata)


@lru_cache(maxsize=8)
def language_data_version(languages: str, tessdata: str) -> str:
    """A short fingerprint of each language file, e.g. ``jpn:3f2a9c1b+eng:0c4d…``."""
    parts = []
    for lang in languages.split("+"):
        path = Path(tessdata) / f"{lang}.traineddata"
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            digest.update(fh.read(1 << 20))
        digest.update(str(path.stat().st_size).encode())
        parts.append(f"{lang}:{digest.hexdigest()[:8]}")
    return "+".join(parts)
