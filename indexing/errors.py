"""Errors the index layer raises; each carries a message fit to show a user as is."""

from __future__ import annotations

from vidstyle.core.errors import VidstyleError


class IndexLoadError(VidstyleError, ValueError):
    """An INDEX_DIR that must not be used: missing, corrupt, truncated, or built for another model/dims."""


class UnknownVideoError(VidstyleError, KeyError):
    """A video id that is not in the index."""

    def __init__(self, video_ids: str | list[str]) -> None:
        ids = [video_ids] if isinstance(video_ids, str) else list(video_ids)
        super().__init__(ids[0] if len(ids) == 1 else ids)
        self.video_ids = ids

    def __str__(self) -> str:  # KeyError's default str() is the repr of its argument
        shown = ", ".join(repr(v) for v in self.video_ids[:5])
        more = f" and {len(self.video_ids) - 5} more" if len(self.video_ids) > 5 else ""
        return f"unknown video id {shown}{more}"
