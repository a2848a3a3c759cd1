"""This machine's processes as ``/proc`` shows them: pid, parent pid and title (Ray sets an actor
process's title to ``ray::<Class>``). For ``node-drain`` (which OCR workers are left) and the
benchmarks that pin processes to cores."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    """One process: its pid, its parent's, and its command line (the title Ray sets, for actors)."""

    pid: int
    parent: int
    title: bytes


def processes() -> list[Proc]:
    """Every process now (those that end while the table is read are left out)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            title = Path(entry.path, "cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        found.append(Proc(int(entry.name), int(stat[stat.rfind(")") + 2 :].split()[1]), title))
    return found
