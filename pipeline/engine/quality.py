"""Quality measures: character error rate against known text (white space ignored)."""

from __future__ import annotations

from pipeline.engine.textclean import clean_text


def _squash(text: str) -> str:
    return "".join(clean_text(text).split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (two rows, O(len(a) * len(b)))."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(expected: str, got: str) -> float:
    """Edits needed to turn ``got`` into ``expected``, per expected character (spaces ignored)."""
    want, have = _squash(expected), _squash(got)
    return edit_distance(want, have) / max(1, len(want))
