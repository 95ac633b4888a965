"""The perceptual loss (Johnson et al.) through the frozen backbone: content feature MSE, Gram style loss
(Gatys et al.) and total variation, each scaled by its size on the training data so the weights are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vidstyle.backbones import frames_to_tensor
from vidstyle.styletransfer.model import CinModel


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


def _scaled(err: torch.Tensor, scale: float) -> torch.Tensor:
    """Squared error per image over the tap's data-wide scale, averaged over the batch."""
    return err.pow(2).flatten(1).sum(1).mean() / scale


@torch.no_grad()
def loss_scales(model: CinModel, contents: np.ndarray, styles: np.ndarray, device: torch.device,
                sample: int = 64) -> dict[str, float]:
    """Per tap, the mean squared norm of the content features / style Grams over (a spread sample of) the data.

    Raw feature and Gram magnitudes differ by orders of magnitude between taps and between backbones (ReLU6
    EfficientNet vs VGG); dividing each tap's error by its typical size makes every tap count alike and lets one
    set of weights serve both. The scale is data-wide, not per image: normalising by each image's own target
    made near-black styles (neon) explode the loss and diverge to NaN within ~100 steps.
    """
    cfg = model.config
    pick = lambda n: np.unique(np.linspace(0, n - 1, min(sample, n)).round().astype(int))  # noqa: E731
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
    o_taps = model.loss_trunk(out)
    sc = cfg.loss_scales
    content_loss = sum(_scaled(o_taps[t] - c_taps[t], sc[f"content:{t}"]) for t in cfg.content_taps)
    style_loss = sum(_scaled(gram(o_taps[t]) - targets[t], sc[f"style:{t}"]) for t in cfg.style_taps)
    content_loss, style_loss = content_loss / len(cfg.content_taps), style_loss / len(cfg.style_taps)
    tv = total_variation(out)
    total = cfg.content_weight * content_loss + cfg.style_weight * style_loss + cfg.tv_weight * tv
    return Losses(total, float(content_loss.detach()), float(style_loss.detach()), float(tv.detach()))
