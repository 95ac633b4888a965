"""The two similarity spaces every index, route and command speaks of."""

from __future__ import annotations

from enum import Enum


class Space(str, Enum):
    """A similarity space: `style` (how a video looks) or `content` (what is in it)."""

    style = "style"
    content = "content"


SPACES: tuple[str, ...] = tuple(s.value for s in Space)
