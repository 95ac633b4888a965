"""A tiny CIN configuration that trains in seconds on 32-pixel images."""

from __future__ import annotations

from typing import Any

from vidstyle.styletransfer.model import CinConfig

TINY = 32


def tiny_config(**kw: Any) -> CinConfig:
    base = {"image_size": TINY, "style_size": TINY, "batch": 2, "steps": 30, "lr": 5e-3, "save_every": 1000,
            "channels": (8, 16, 16), "n_residual": 1}
    return CinConfig(**(base | kw))
