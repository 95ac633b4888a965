"""Which torch device a model runs on."""

from __future__ import annotations

import torch


def pick_device(requested: str) -> torch.device:
    """`auto` is the first GPU when torch sees one, else the CPU; anything else is passed to torch as is."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)
