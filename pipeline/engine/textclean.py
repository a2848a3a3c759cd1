"""Clean OCR text for search: NFKC widths, no spaces between Japanese characters, ``¥`` back."""

from __future__ import annotations

import re
import unicodedata

# Hiragana, katakana (and the prolonged sound mark), CJK ideographs, CJK punctuation, fullwidth
# forms: the body of a character class (``[...]``).
CJK = r"\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{CJK}])[ \t]+(?=[{CJK}])")
_SPACE_BEFORE_CJK_PUNCT = re.compile(r"[ \t]+(?=[、。，．・「」『』（）【】])")
_YEN_AS_BACKSLASH = re.compile(r"\\(?=\s?\d)")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(raw: str) -> str:
    """Return text fit for indexing; idempotent (``clean_text(clean_text(t)) == clean_text(t)``)."""
    text = unicodedata.normalize("NFKC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = _YEN_AS_BACKSLASH.sub("¥", text)
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = _SPACE_BEFORE_CJK_PUNCT.sub("", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()
