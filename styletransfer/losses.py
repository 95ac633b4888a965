"""The perceptual loss (Johnson et al.) through the frozen backbone: content feature MSE, Gram style loss
(Gatys et al.) and total variation, each scaled by its size on the training data so the weights are comparable.

`score` is the loss every method shares; `LossNet` is the frozen backbone cut that computes it for the methods
whose model has no cut of its own; `perceptual_losses` is Ghiasi's training step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn

from vidstyle.backbones import LoadedBackbone, frames_to_tensor
from vidstyle.styletransfer.model import BackboneTaps, CinConfig, CinModel, channel_stats


def gram(f: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) → (n, C, C), normalised by C·H·W (Johnson et al.) so layers of any size are comparable."""
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()


@dataclass
class Losses:
    total: torch.Tensor
    content: float
    style: float
    tv: float

    def row(self, step: int, seconds: float) -> dict[str, float]:
        return {"step": step, "total": float(self.total.detach()), "content": self.content, "style": self.style,
                "tv": self.tv, "seconds": seconds}


def scaled_error(err: torch.Tensor, scale: float) -> torch.Tensor:
    """Squared error per image over the tap's data-wide scale, averaged over the batch."""
    return err.pow(2).flatten(1).sum(1).mean() / scale


def spread_sample(n: int, sample: int) -> np.ndarray:
    """At most `sample` indices spread evenly over range(n): a deterministic sample of the data."""
    return np.unique(np.linspace(0, n - 1, min(sample, n)).round().astype(int))


class _Trunks(Protocol):
    config: CinConfig
    style_trunk: BackboneTaps
    loss_trunk: BackboneTaps


@torch.no_grad()
def loss_scales(model: _Trunks, contents: np.ndarray, styles: np.ndarray, device: torch.device | str,
                sample: int = 64) -> dict[str, float]:
    """Per tap, the mean squared norm of the content features / style Grams over (a spread sample of) the data.

    Raw feature and Gram magnitudes differ by orders of magnitude between taps and between backbones (ReLU6
    EfficientNet vs VGG); dividing each tap's error by its typical size makes every tap count alike and lets one
    set of weights serve both. The scale is data-wide, not per image: normalising by each image's own target
    made near-black styles (neon) explode the loss and diverge to NaN within ~100 steps.
    """
    cfg = model.config
    pick = lambda n: spread_sample(n, sample)  # noqa: E731
    scales: dict[str, list[float]] = {}
    for i in range(0, len(pick(len(styles))), 16):
        idx = pick(len(styles))[i : i + 16]
        taps = model.style_trunk(frames_to_tensor(styles[idx], device))
        for t in cfg.style_taps:
            scales.setdefault(f"style:{t}", []).append(float(gram(taps[t]).pow(2).flatten(1).sum(1).sum()))
    for i in range(0, len(pick(len(contents))), 16):
        idx = pick(len(contents))[i : i + 16]
        taps = model.loss_trunk(frames_to_tensor(contents[idx], device))
        for t in cfg.content_taps:
            scales.setdefault(f"content:{t}", []).append(float(taps[t].pow(2).flatten(1).sum(1).sum()))
    counts = {"style": len(pick(len(styles))), "content": len(pick(len(contents)))}
    return {k: max(sum(v) / counts[k.split(":")[0]], 1e-12) for k, v in scales.items()}


def score(cfg: CinConfig, out: torch.Tensor, o_taps: dict[str, torch.Tensor], c_taps: dict[str, torch.Tensor],
          style_grams: dict[str, torch.Tensor]) -> Losses:
    """The weighted perceptual loss of a rendering `out` (its taps `o_taps`) against content features and style
    Gram targets: what every method of the seed minimises, by optimising pixels (Gatys) or a network."""
    sc = cfg.loss_scales
    content_loss = sum(scaled_error(o_taps[t] - c_taps[t], sc[f"content:{t}"]) for t in cfg.content_taps)
    style_loss = sum(scaled_error(gram(o_taps[t]) - style_grams[t], sc[f"style:{t}"]) for t in cfg.style_taps)
    content_loss, style_loss = content_loss / len(cfg.content_taps), style_loss / len(cfg.style_taps)
    tv = total_variation(out)
    total = cfg.content_weight * content_loss + cfg.style_weight * style_loss + cfg.tv_weight * tv
    return Losses(total, float(content_loss.detach()), float(style_loss.detach()), float(tv.detach()))


class LossNet(nn.Module):
    """The frozen backbone cut at the style and content taps: the loss network of every method but Ghiasi's
    (whose model carries its own cuts), and the common yardstick of `stylize-compare`."""

    def __init__(self, config: CinConfig, backbone: LoadedBackbone) -> None:
        super().__init__()
        self.config = config
        self.loss_trunk = BackboneTaps(backbone, tuple(dict.fromkeys(config.style_taps + config.content_taps)))
        self.style_trunk = self.loss_trunk  # `loss_scales` reads style images through the same cut

    @torch.no_grad()
    def targets(self, content: torch.Tensor, style: torch.Tensor) -> tuple[dict, dict]:
        """Content features of `content` and Gram targets of `style` (both (n, 3, H, W) in [0, 1])."""
        c_taps = self.loss_trunk(content)
        s_taps = self.loss_trunk(style)
        return c_taps, {t: gram(s_taps[t]) for t in self.config.style_taps}

    def forward(self, out: torch.Tensor, c_taps: dict, style_grams: dict) -> Losses:
        return score(self.config, out, self.loss_trunk(out), c_taps, style_grams)

    @torch.no_grad()
    def style_key(self, frames: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) → (n, D): per style tap, channel mean/std of the features, each tap's part unit-length.

        Which of a model's known styles a `--like` image is: the nearest key (an image a model was trained on
        is at distance 0 from its own key).
        """
        taps = self.loss_trunk(frames)
        parts = [torch.nn.functional.normalize(channel_stats(taps[t]), dim=1) for t in self.config.style_taps]
        return torch.cat(parts, dim=1) / len(parts) ** 0.5


def perceptual_losses(model: CinModel, content: torch.Tensor, style: torch.Tensor) -> Losses:
    """One forward pass: P(style) → γβ → transformer(content), scored through the frozen backbone."""
    cfg = model.config
    s_in = model.style_input(style)
    with torch.no_grad():
        s_taps = model.style_trunk(s_in)
        g_taps = s_taps if s_in.shape == style.shape else model.style_trunk(style)
        targets = {t: gram(g_taps[t]) for t in cfg.style_taps}
        c_taps = model.loss_trunk(content)
    gb = model.head.params(model.head.bottleneck(s_taps))
    out = model.transformer(content, gb)
    return score(cfg, out, model.loss_trunk(out), c_taps, targets)
