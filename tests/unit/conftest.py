"""Fixtures of the unit tests: one warm OCR stage for every test that reads pages through it."""

from __future__ import annotations

import pytest

from pipeline.engine.stage import OcrStage
from pipeline.settings import Settings


@pytest.fixture(scope="session")
def stage() -> OcrStage:
    """The stage as the service runs it, with its engine loaded (default settings)."""
    s = OcrStage(Settings())
    s.setup()
    return s
