"""Gatys et al. ("Image Style Transfer Using Convolutional Neural Networks"): method `gatys`, no network to train.

The rendering itself is optimised: starting from the content image (or noise), Adam moves the pixels to lower
the perceptual loss of `losses.score` (content features at the content tap, Gram matrices at the style taps,
total variation). Slow (one backbone forward and backward per step per image) but needs no checkpoint, which is
why it is the reference the feed-forward methods are compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from vidstyle.backbones import frames_to_tensor
from vidstyle.core.settings import ConfigError
from vidstyle.styletransfer.losses import LossNet, gram, loss_scales


@dataclass(frozen=True)
class GatysRun:
    image: np.ndarray  # (H, W, 3) uint8
    history: list[dict[str, float]]


def gatys(content: np.ndarray, style_frames: np.ndarray, loss_net: LossNet, steps: int = 100, lr: float = 0.02,
          init: str = "content", progress: bool = False) -> GatysRun:
    """Optimise a rendering of content (H, W, 3) uint8 in the style of `style_frames` (n, S, S, 3) uint8.

    The loss scales are this pair's own magnitudes (the data is one image); the weights are the config's.
    Seeded by the config's seed (only the noise start draws random numbers).
    """
    if init not in ("content", "noise"):
        raise ConfigError(f"gatys starts from 'content' or 'noise', not {init!r}")
    cfg = loss_net.config
    device = loss_net.loss_trunk.mean.device
    cfg.loss_scales = loss_scales(loss_net, content[None], style_frames, device)
    c = frames_to_tensor(content[None], device)
    with torch.no_grad():
        c_taps = loss_net.loss_trunk(c)
        s_taps = loss_net.loss_trunk(frames_to_tensor(style_frames, device))
        grams = {t: gram(s_taps[t]).mean(0, keepdim=True) for t in cfg.style_taps}  # a video's mean look
    generator = torch.Generator().manual_seed(cfg.seed)
    start = c if init == "content" else torch.rand(c.shape, generator=generator).to(device)
    x = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    history = []
    for step in tqdm(range(1, steps + 1), disable=not progress, desc="gatys", unit="step"):
        losses = loss_net(x, c_taps, grams)
        opt.zero_grad(set_to_none=True)
        losses.total.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
        history.append(losses.row(step, 0.0))
    image = (x.detach()[0].permute(1, 2, 0) * 255).round().byte().cpu().numpy()
    return GatysRun(image, history)
