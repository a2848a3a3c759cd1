"""Engines with faults, swapped in through the ``OCR_ENGINE`` seam (``module:Class``)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image

from pipeline.engine.ocr import Engine, Recognised

CRASH_FLAG = Path("/tmp/ocr-cluster-test-crash-once")
CRASH_WIDTH = 1237  # pages of this width crash the worker process the first time they are seen


SLOW_PAGES = Path("/tmp/ocr-cluster-test-slow-pages")  # one line per page SlowEngine has read


class SlowEngine(Engine):
    """The real engine, 1.5 s slower per page (so kills and time-outs land mid-page); each page
    read is noted in ``SLOW_PAGES``, so a test can wait for pages read instead of guessing a time."""

    def recognise(self, image: Image.Image, timeout_s: float, *args, **kwargs) -> Recognised:
        """Sleep, recognise, note it."""
        time.sleep(1.5)
        got = super().recognise(image, timeout_s, *args, **kwargs)
        with SLOW_PAGES.open("a", encoding="utf-8") as fh:
            fh.write(f"{image.width}x{image.height}\n")
        return got


class CrashOnceEngine(Engine):
    """Kills its own process on the first page of width ``CRASH_WIDTH`` (an actor crash)."""

    def recognise(self, image: Image.Image, timeout_s: float, *args, **kwargs) -> Recognised:
        """Crash once on the marked page, otherwise recognise."""
        if image.width == CRASH_WIDTH and not CRASH_FLAG.exists():
            CRASH_FLAG.touch()
            os._exit(3)
        return super().recognise(image, timeout_s, *args, **kwargs)


class MisreadEngine(Engine):
    """The real engine, reading ``SMOKE`` as ``SM0KE`` (a reading that misses a word it should see)."""

    def recognise(self, image: Image.Image, timeout_s: float, *args, **kwargs) -> Recognised:
        """Recognise, then misread the one word."""
        got = super().recognise(image, timeout_s, *args, **kwargs)
        return replace(got, text=got.text.replace("SMOKE", "SM0KE"))


ENGINE_CALLS = Path("/tmp/ocr-cluster-test-engine-calls")  # one line per page image the engine was given


class CountingEngine(Engine):
    """The real engine, counting every reading it is asked for (a line per call in ``ENGINE_CALLS``,
    shared by the worker processes), so a test can prove work was *not* given to the engine."""

    def recognise(self, image: Image.Image, timeout_s: float, *args, **kwargs) -> Recognised:
        """Note the call (the image's size), then recognise."""
        with ENGINE_CALLS.open("a", encoding="utf-8") as fh:
            fh.write(f"{image.width}x{image.height}\n")
        return super().recognise(image, timeout_s, *args, **kwargs)


def engine_calls() -> int:
    """Readings asked of :class:`CountingEngine` since ``ENGINE_CALLS`` was last removed."""
    return len(ENGINE_CALLS.read_text(encoding="utf-8").splitlines()) if ENGINE_CALLS.exists() else 0


HANG_WIDTH = 1239  # pages of this width hang the engine (a decoder or engine that never returns)


class HangOnWidthEngine(Engine):
    """The real engine, except that a page of width ``HANG_WIDTH`` never comes back (an hour's sleep)."""

    def recognise(self, image: Image.Image, timeout_s: float, *args, **kwargs) -> Recognised:
        """Hang on the marked page, otherwise recognise."""
        if image.width == HANG_WIDTH:
            time.sleep(3600)
        return super().recognise(image, timeout_s, *args, **kwargs)
