"""AdaIN (Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization"):
method `adain`.

A frozen encoder (the backbone up to `encoder_tap`), the parameter-free AdaIN transform
AdaIN(x, y) = σ(y) (x - μ(x)) / σ(x) + μ(y) on its features, and a trained decoder back to pixels. Any style
works with no style-specific weights: its feature mean and std are the style. As in the paper, the content loss
compares the rendering's encoder features with the AdaIN target t (not with the content image's features), and
the style loss matches the channel mean and std of the rendering's and the style's features at the style taps.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vidstyle.backbones import LoadedBackbone, frames_to_tensor
from vidstyle.styletransfer.losses import Losses, LossNet, loss_scales, scaled_error, spread_sample, total_variation
from vidstyle.styletransfer.model import BackboneTaps, CinConfig, channel_stats, conv_block, render_frame


def adain(content: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Content features (n, C, H, W) renormalised to per-channel `mean`, `std` ((n, C) each)."""
    c_stats = channel_stats(content)
    c = content.shape[1]
    normed = (content - c_stats[:, :c, None, None]) / c_stats[:, c:, None, None]
    return normed * std[:, :, None, None] + mean[:, :, None, None]


class AdaINModel(nn.Module):
    def __init__(self, config: CinConfig, backbone: LoadedBackbone) -> None:
        super().__init__()
        self.config = config
        self.backbone_sha256 = backbone.weights_sha256
        self.encoder = BackboneTaps(backbone, (config.encoder_tap,))
        self.loss_net = LossNet(config, backbone)
        enc_channels = self.encode(torch.zeros(1, 3, 32, 32)).shape[1]
        c1, c2, c3 = config.channels
        # Mirrors the encoder's /8 depth: three nearest x2 upsamplings, no normalisation (as in the paper).
        self.decoder = nn.Sequential(conv_block(enc_channels, c3, 3, norm=False),
                                     conv_block(c3, c2, 3, up=True, norm=False),
                                     conv_block(c2, c1, 3, up=True, norm=False),
                                     conv_block(c1, c1, 3, up=True, norm=False),
                                     conv_block(c1, 3, 3, norm=False, relu=False))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[self.config.encoder_tap]

    def trained_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"decoder": self.decoder.state_dict()}

    def load_trained_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        self.decoder.load_state_dict(state["decoder"])

    # -- training
    def trainable(self) -> list[nn.Parameter]:
        return list(self.decoder.parameters())

    @torch.no_grad()
    def prepare(self, contents: np.ndarray, styles: np.ndarray, device: torch.device | str) -> dict[str, float]:
        """The shared scales plus this loss's own: the encoder features' and the style taps' mean/std sizes."""
        scales = loss_scales(self.loss_net, contents, styles, device)
        idx = spread_sample(len(contents), 64)
        enc = self.encode(frames_to_tensor(contents[idx], device))
        scales[f"encoder:{self.config.encoder_tap}"] = max(float(enc.pow(2).flatten(1).sum(1).mean()), 1e-12)
        taps = self.loss_net.loss_trunk(frames_to_tensor(styles[spread_sample(len(styles), 64)], device))
        for t in self.config.style_taps:
            scales[f"stats:{t}"] = max(float(channel_stats(taps[t]).pow(2).sum(1).mean()), 1e-12)
        return scales

    def training_losses(self, content: torch.Tensor, style: torch.Tensor, style_idx: torch.Tensor,
                        step: int) -> Losses:
        cfg, sc = self.config, self.config.loss_scales
        with torch.no_grad():
            s_stats = channel_stats(self.encode(style))
            c = s_stats.shape[1] // 2
            target = adain(self.encode(content), s_stats[:, :c], s_stats[:, c:])
            s_taps = self.loss_net.loss_trunk(style)
        out = torch.sigmoid(self.decoder(target))
        content_loss = scaled_error(self.encode(out) - target, sc[f"encoder:{cfg.encoder_tap}"])
        o_taps = self.loss_net.loss_trunk(out)
        style_loss = sum(scaled_error(channel_stats(o_taps[t]) - channel_stats(s_taps[t]), sc[f"stats:{t}"])
                         for t in cfg.style_taps) / len(cfg.style_taps)
        tv = total_variation(out)
        total = cfg.content_weight * content_loss + cfg.style_weight * style_loss + cfg.tv_weight * tv
        return Losses(total, float(content_loss.detach()), float(style_loss.detach()), float(tv.detach()))

    # -- inference
    @torch.inference_mode()
    def stylize(self, content: np.ndarray, style_frames: np.ndarray) -> np.ndarray:
        """Render content (H, W, 3) uint8 with the mean feature statistics of `style_frames` (n, S, S, 3)."""
        self.eval()
        device = next(self.decoder.parameters()).device
        s_stats = channel_stats(self.encode(frames_to_tensor(style_frames, device))).mean(0, keepdim=True)
        c = s_stats.shape[1] // 2
        return render_frame(content, device, 8,
                            lambda x: torch.sigmoid(self.decoder(adain(self.encode(x), s_stats[:, :c],
                                                                       s_stats[:, c:]))))
