"""The error the evaluation commands raise for inputs they cannot use."""

from __future__ import annotations

from vidstyle.core.errors import VidstyleError


class EvaluationError(VidstyleError, ValueError):
    """A triplet/labels file or benchmark request that cannot be evaluated (the message says why)."""
