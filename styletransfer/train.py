"""`vidstyle train-style`: train the CIN transformer and the style-prediction head (see `styletransfer.model`).

Perceptual loss through the frozen backbone (Johnson et al.; Ghiasi et al.): each step draws a batch of
content images and a batch of style images, P predicts γ, β from each style image, the transformer renders
the content image with them, and the rendering is scored against the content image on the content taps
(feature MSE) and against the style image on the style taps (Gram matrices, Gatys et al.), plus a
total-variation term against high-frequency noise. Only the transformer and P's head are trained (Adam).

Reproducible from the seed: weights are initialised from it and batches are drawn by a NumPy generator whose
state goes into every checkpoint, so a run resumed from a checkpoint continues exactly as if uninterrupted.
Checkpoints are written atomically every `save_every` steps and at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from vidstyle.backbones import frames_to_tensor, load_backbone
from vidstyle.backbones.device import pick_device
from vidstyle.core.errors import VidstyleError
from vidstyle.core.settings import Settings
from vidstyle.styletransfer.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from vidstyle.styletransfer.data import load_frames
from vidstyle.styletransfer.losses import loss_scales, perceptual_losses
from vidstyle.styletransfer.model import CinConfig, CinModel


class TrainingDiverged(VidstyleError, ValueError):
    """The loss became NaN/inf; the last checkpoint (never a diverged one) is kept."""


@dataclass
class TrainResult:
    checkpoint: Path
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def _draw(rng: np.random.Generator, n_content: int, n_style: int, batch: int) -> tuple[np.ndarray, ...]:
    return rng.integers(n_content, size=batch), rng.integers(n_style, size=batch), rng.random(batch) < 0.5


def train(content_src: Path | np.ndarray, style_src: Path | np.ndarray, out: Path, config: CinConfig,
          settings: Settings, device: str = "auto", resume: bool = False, progress: bool = True,
          time_limit_s: float | None = None, threads: int | None = None) -> TrainResult:
    """Train (or, with `resume`, continue) and checkpoint to `out`. `config.steps` is the total step count.

    Sources are folders/files, or frames already decoded ((n, S, S, 3) uint8, S = `config.image_size`).
    `time_limit_s` bounds this invocation's training time (a CPU budget): the run stops after the step that
    crosses it and checkpoints, so `--resume` can take it further later. `threads` sets torch's intra-op
    threads for the run: on a CPU shared with other jobs, one thread avoids OpenMP oversubscription, which we
    measured to make small convolutions 5-10x slower.
    """
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _train(content_src, style_src, Path(out), config, settings, device, resume, progress, time_limit_s)
    finally:
        torch.set_num_threads(previous_threads)


def _frames(src: Path | np.ndarray, size: int, settings: Settings, what: str) -> np.ndarray:
    if isinstance(src, np.ndarray):
        if src.ndim != 4 or src.shape[1:] != (size, size, 3) or src.dtype != np.uint8:
            raise ValueError(f"{what} frames must be (n, {size}, {size}, 3) uint8, got {src.shape} {src.dtype}")
        return src
    return load_frames(src, size, settings, what)


def _train(content_src: Path | np.ndarray, style_src: Path | np.ndarray, out: Path, config: CinConfig,
           settings: Settings, device: str, resume: bool, progress: bool, time_limit_s: float | None) -> TrainResult:
    payload: dict[str, Any] | None = None
    if out.exists():
        if not resume:
            raise CheckpointError(f"{out} exists; pass --resume to continue that run, or choose another --out")
        payload = read_checkpoint(out)
        saved = CinConfig.from_dict(payload["config"])
        # The run's definition comes from the checkpoint; only its length and checkpoint interval may change.
        saved.steps, saved.save_every = config.steps, config.save_every
        config = saved
    dev = pick_device(device)
    torch.manual_seed(config.seed)
    backbone = load_backbone(config.backbone, settings.model.weights_path if
                             settings.model.backbone == config.backbone else None)
    model = CinModel(config, backbone).to(dev)
    params = list(model.transformer.parameters()) + list(model.head.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    rng = np.random.default_rng(config.seed)
    step, history, seconds = 0, [], 0.0
    if payload is not None:
        model.load_trained_state(payload["state"])
        opt.load_state_dict(payload["optimizer"])
        rng.bit_generator.state = payload["rng"]
        step, history, seconds = payload["step"], payload["history"], payload.get("seconds", 0.0)

    contents = _frames(content_src, config.image_size, settings, "content")
    styles = _frames(style_src, config.image_size, settings, "style")
    if not config.loss_scales:  # a resumed run keeps the scales it started with
        config.loss_scales = loss_scales(model, contents, styles, dev)
    saved_at = step

    def checkpoint(at: int) -> None:
        nonlocal saved_at
        saved_at = at
        save_checkpoint(out, model, {"optimizer": opt.state_dict(), "rng": rng.bit_generator.state, "step": at,
                                     "history": history, "seconds": seconds,
                                     "data": {"contents": len(contents), "styles": len(styles)}})

    model.train()
    bar = tqdm(total=config.steps, initial=step, unit="step", disable=not progress, desc="train-style",
               dynamic_ncols=True)
    t0 = time.monotonic() - seconds
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    try:
        while step < config.steps:
            ci, si, flip = _draw(rng, len(contents), len(styles), config.batch)
            c = contents[ci]
            c[flip] = c[flip, :, ::-1]
            losses = perceptual_losses(model, frames_to_tensor(c, dev), frames_to_tensor(styles[si], dev))
            if not torch.isfinite(losses.total):
                raise TrainingDiverged(f"the loss is not finite at step {step + 1}; {out} keeps step {saved_at} "
                                       f"(a lower --lr may help)")
            opt.zero_grad(set_to_none=True)
            losses.total.backward()
            torch.nn.utils.clip_grad_norm_(params, config.clip_grad)
            opt.step()
            step += 1
            seconds = time.monotonic() - t0
            history.append(losses.row(step, seconds))
            bar.update(1)
            bar.set_postfix(loss=f"{float(losses.total.detach()):.3g}", content=f"{losses.content:.3g}",
                            style=f"{losses.style:.3g}", tv=f"{losses.tv:.3g}")
            out_of_time = deadline is not None and time.monotonic() > deadline
            if step % config.save_every == 0 or step == config.steps or out_of_time:
                checkpoint(step)
            if out_of_time:
                break
    finally:
        bar.close()
    return TrainResult(out, step, seconds, history)
