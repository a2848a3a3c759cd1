"""Clean-up of the engine's text for search."""

from __future__ import annotations

import pytest

from pipeline.engine.textclean import clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("株 式 会 社 サ ン プ ル", "株式会社サンプル"),
        ("合計 \\128,400", "合計 ¥128,400"),
        ("合計 \\ 500", "合計 ¥ 500"),
        ("Ｉｎｖｏｉｃｅ　１２３", "Invoice 123"),
        ("ｶﾀｶﾅ", "カタカナ"),
        ("東京 、 大阪 。", "東京、大阪。"),
        ("Hello world  \r\nnext\r\n\n\n\nend", "Hello world\nnext\n\nend"),
        ("C:\\path stays", "C:\\path stays"),
        ("mixed 日本 text", "mixed 日本 text"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_idempotent() -> None:
    raw = "請 求 書 \\1,000 Ｉｎｖｏｉｃｅ"
    assert clean_text(clean_text(raw)) == clean_text(raw)
