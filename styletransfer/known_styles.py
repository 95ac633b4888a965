"""The styles an N-style model learned (CIN's γβ rows, StyleBank's banks, Johnson's one style): a key per style to
find which one a `--like` image is, and the style files' names.

The key is `LossNet.style_key` of the style image, stored with the model, so `stylize --like` works with any
image: the style whose key is nearest is used (the training image itself is at distance 0).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vidstyle.backbones import frames_to_tensor
from vidstyle.core.errors import VidstyleError
from vidstyle.styletransfer.losses import LossNet


class UnknownStyle(VidstyleError, ValueError):
    """A style index or name a model was not trained on."""


class KnownStyles(nn.Module):
    """(n_styles, D) keys as a buffer, so they travel in the checkpoint with the weights they index."""

    def __init__(self, n_styles: int, key_dim: int) -> None:
        super().__init__()
        self.register_buffer("keys", torch.zeros(n_styles, key_dim))

    def __len__(self) -> int:
        return len(self.keys)

    @torch.no_grad()
    def set(self, loss_net: LossNet, frames: np.ndarray, start: int = 0) -> None:
        """Key rows start.. from style frames (n, S, S, 3) uint8, one per style."""
        keys = loss_net.style_key(frames_to_tensor(frames, self.keys.device))
        self.keys[start : start + len(keys)] = keys

    def append(self, loss_net: LossNet, frame: np.ndarray) -> None:
        self.keys = torch.cat([self.keys, torch.zeros_like(self.keys[:1])])
        self.set(loss_net, frame[None], start=len(self.keys) - 1)

    @torch.no_grad()
    def nearest(self, loss_net: LossNet, frames: np.ndarray) -> tuple[int, float]:
        """The known style nearest to the mean key of `frames`, and its distance (0 for a training image)."""
        key = loss_net.style_key(frames_to_tensor(frames, self.keys.device)).mean(0, keepdim=True)
        dist = torch.cdist(key, self.keys)[0]
        i = int(dist.argmin())
        return i, float(dist[i])

    def check(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise UnknownStyle(f"style {index} is not one of this model's {len(self)} styles (0..{len(self) - 1})")
        return index


def key_dim(loss_net: LossNet) -> int:
    probe = loss_net.loss_trunk(torch.zeros(1, 3, 32, 32))
    return sum(2 * probe[t].shape[1] for t in loss_net.config.style_taps)
