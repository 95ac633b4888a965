"""Dumoulin et al.'s N-style network ("A Learned Representation for Artistic Style", method `cin`) and Johnson et
al.'s per-style transformer (method `johnson`).

One transformer, shared by all styles, whose every instance norm is conditional: style s owns one (γ, β) pair per
channel of every norm layer, z = γ_s (x - μ) / σ + β_s, and nothing else. That γβ row (2 x 547 numbers with the
default channels) is a learned embedding of style s. Johnson et al. train one transformer per style; with
Ulyanov's instance norm, that network is exactly the case N = 1, so both methods are this class and differ only
in the data (`johnson` refuses more than one style).

Trained with the perceptual loss of `losses.score`; each training sample draws a style and uses its row.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vidstyle.backbones import LoadedBackbone
from vidstyle.core.settings import ConfigError
from vidstyle.styletransfer.known_styles import KnownStyles, key_dim
from vidstyle.styletransfer.losses import Losses, LossNet, loss_scales
from vidstyle.styletransfer.model import CinConfig, StyleTransformer, render_frame


class NStyleModel(nn.Module):
    def __init__(self, config: CinConfig, backbone: LoadedBackbone) -> None:
        super().__init__()
        if config.n_styles < 1:
            raise ConfigError(f"{config.method} needs at least one style (n_styles={config.n_styles})")
        if config.method == "johnson" and config.n_styles != 1:
            raise ConfigError(f"johnson trains one transformer per style, got {config.n_styles} styles: give "
                              f"--styles one image (or use --method cin or stylebank for several)")
        self.config = config
        self.backbone_sha256 = backbone.weights_sha256
        self.transformer = StyleTransformer(config.channels, config.n_residual)
        self.loss_net = LossNet(config, backbone)
        identity = torch.cat([torch.cat([torch.ones(c), torch.zeros(c)]) for c in self.transformer.norm_channels])
        # Every style starts at the identity norm (γ = 1, β = 0), as in Dumoulin et al.
        self.gamma_beta = nn.Parameter(identity.repeat(config.n_styles, 1))
        self.styles = KnownStyles(config.n_styles, key_dim(self.loss_net))

    def trained_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"transformer": self.transformer.state_dict(),
                "styles": {"gamma_beta": self.gamma_beta.detach().clone(), "keys": self.styles.keys.clone()}}

    def load_trained_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        self.transformer.load_state_dict(state["transformer"])
        with torch.no_grad():
            self.gamma_beta.copy_(state["styles"]["gamma_beta"])
        self.styles.load_state_dict({"keys": state["styles"]["keys"]})

    # -- training
    def trainable(self) -> list[nn.Parameter]:
        return [*self.transformer.parameters(), self.gamma_beta]

    def prepare(self, contents: np.ndarray, styles: np.ndarray, device: torch.device | str) -> dict[str, float]:
        """At the start of a fresh run: the style keys and the loss scales of the data."""
        self.styles.set(self.loss_net, styles)
        return loss_scales(self.loss_net, contents, styles, device)

    def training_losses(self, content: torch.Tensor, style: torch.Tensor, style_idx: torch.Tensor,
                        step: int) -> Losses:
        c_taps, grams = self.loss_net.targets(content, style)
        return self.loss_net(self.transformer(content, self.gamma_beta[style_idx]), c_taps, grams)

    # -- inference
    def render_known(self, x: torch.Tensor, style: int) -> torch.Tensor:
        """Images (n, 3, H, W) in [0, 1] (H, W multiples of 4) rendered in known style `style`."""
        return self.transformer(x, self.gamma_beta[self.styles.check(style)].expand(len(x), -1))

    def embedding(self, style: int) -> np.ndarray:
        """Style `style`'s γβ row: Dumoulin et al.'s learned embedding of that style."""
        return self.gamma_beta[self.styles.check(style)].detach().cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def stylize(self, content: np.ndarray, style_frames: np.ndarray, style: int | None = None) -> np.ndarray:
        """Render content (H, W, 3) uint8 in known style `style`, by default the one nearest to `style_frames`."""
        self.eval()
        if style is None:
            style, _ = self.styles.nearest(self.loss_net, style_frames)
        return render_frame(content, self.gamma_beta.device, 4, lambda c: self.render_known(c, style))
