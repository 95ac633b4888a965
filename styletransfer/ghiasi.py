"""Ghiasi et al.'s arbitrary-style network (method `ghiasi`, the default): `model.CinModel` with what training
needs. Its style-prediction bottleneck is the embedder's `style_cin` vector."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vidstyle.styletransfer.losses import Losses, loss_scales, perceptual_losses
from vidstyle.styletransfer.model import CinModel


class GhiasiModel(CinModel):
    def trainable(self) -> list[nn.Parameter]:
        return [*self.transformer.parameters(), *self.head.parameters()]

    def prepare(self, contents: np.ndarray, styles: np.ndarray, device: torch.device | str) -> dict[str, float]:
        """At the start of a fresh run: the loss scales of the data."""
        return loss_scales(self, contents, styles, device)

    def training_losses(self, content: torch.Tensor, style: torch.Tensor, style_idx: torch.Tensor,
                        step: int) -> Losses:
        return perceptual_losses(self, content, style)
