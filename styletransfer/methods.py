"""The trained methods side by side: what a model of any method offers the training loop, the checkpoint and
`stylize`, and which class implements each method.

Every model holds its `config`, the SHA-256 of the backbone weights its loss (and, for some, its encoder) ran
on, its trained weights as `trained_state()` (never the frozen backbone), and `stylize(content, style_frames)`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn

from vidstyle.backbones import LoadedBackbone
from vidstyle.styletransfer.adain import AdaINModel
from vidstyle.styletransfer.ghiasi import GhiasiModel
from vidstyle.styletransfer.losses import Losses
from vidstyle.styletransfer.model import CinConfig
from vidstyle.styletransfer.nstyle import NStyleModel
from vidstyle.styletransfer.stylebank import StyleBankModel

MODELS: dict[str, type[nn.Module]] = {
    "ghiasi": GhiasiModel,
    "cin": NStyleModel,
    "johnson": NStyleModel,
    "stylebank": StyleBankModel,
    "adain": AdaINModel,
}

# Methods that learn a fixed set of styles, one per style file (the others take any style image at run time).
PER_STYLE = frozenset({"cin", "johnson", "stylebank"})


class StyleModel(Protocol):
    config: CinConfig
    backbone_sha256: str

    def trained_state(self) -> dict[str, dict[str, torch.Tensor]]: ...
    def load_trained_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None: ...
    def trainable(self) -> list[nn.Parameter]: ...
    def prepare(self, contents: np.ndarray, styles: np.ndarray, device: torch.device | str) -> dict[str, float]: ...
    def training_losses(self, content: torch.Tensor, style: torch.Tensor, style_idx: torch.Tensor,
                        step: int) -> Losses: ...
    def stylize(self, content: np.ndarray, style_frames: np.ndarray) -> np.ndarray: ...
    def to(self, device: torch.device | str) -> StyleModel: ...
    def train(self, mode: bool = True) -> StyleModel: ...


def build_model(config: CinConfig, backbone: LoadedBackbone) -> StyleModel:
    return MODELS[config.method](config, backbone)  # type: ignore[return-value]


def n_parameters(model: StyleModel) -> int:
    """Trained numbers only (what the checkpoint stores beside the frozen backbone)."""
    return sum(t.numel() for part in model.trained_state().values() for t in part.values()
               if t.is_floating_point())
