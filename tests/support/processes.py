"""The process table, as the tests that count worker processes read it."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> set[int]:
    """The pids whose parent is `pid` (read from /proc)."""
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids
