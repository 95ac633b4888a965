"""`vidstyle train-style`: train a style-transfer model of any trained method (`methods.MODELS`).

Each step draws a batch of content images and, per sample, a style image (for the N-style methods: a style
index, one per style file), asks the method for its loss (for all but AdaIN the perceptual loss of
`losses.score`: content features, Gram matrices, total variation through the frozen backbone) and takes one Adam
step on the method's trainable weights. The frozen backbone is never trained.

Reproducible from the seed: weights are initialised from it and batches are drawn by a NumPy generator whose
state goes into every checkpoint, so a run resumed from a checkpoint continues exactly as if uninterrupted.
Checkpoints are written atomically every `save_every` steps and at the end.

StyleBank's incremental training (`add_style`) starts a new run from a trained checkpoint: one new bank, E, D and
the old banks frozen, the new style image as the only style. It resumes like any other run.
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
from vidstyle.styletransfer.data import load_frames, load_middle_frames
from vidstyle.styletransfer.methods import PER_STYLE, build_model
from vidstyle.styletransfer.model import CinConfig

Source = Path | np.ndarray


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


def train(content_src: Source | None, style_src: Source | None, out: Path, config: CinConfig, settings: Settings,
          device: str = "auto", resume: Path | None = None, add_style: Source | None = None, progress: bool = True,
          time_limit_s: float | None = None, threads: int | None = None) -> TrainResult:
    """Train and checkpoint to `out`; `config.steps` is the total step count.

    With `resume` (a checkpoint, possibly `out` itself), continue that run with its own settings (only `steps`
    and `save_every` come from `config`), on its recorded sources unless others are given. With `add_style` (a
    StyleBank checkpoint in `resume`), learn that one more style with everything else frozen.
    Sources are folders/files, or frames already decoded ((n, S, S, 3) uint8, S = `config.image_size`).
    `time_limit_s` bounds this invocation's training time (a CPU budget): the run stops after the step that
    crosses it and checkpoints, so a resume can take it further later. `threads` sets torch's intra-op
    threads for the run: on a CPU shared with other jobs, one thread avoids OpenMP oversubscription, which we
    measured to make small convolutions 5-10x slower.
    """
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        run = _Run.open(content_src, style_src, Path(out), config, resume, add_style)
        return run.train(settings, device, progress, time_limit_s)
    finally:
        torch.set_num_threads(previous_threads)


def _frames(src: Source, size: int, settings: Settings, what: str, per_style: bool) -> tuple[np.ndarray, list[str]]:
    if isinstance(src, np.ndarray):
        if src.ndim == 3:
            src = src[None]
        if src.ndim != 4 or src.shape[1:] != (size, size, 3) or src.dtype != np.uint8:
            raise ValueError(f"{what} frames must be (n, {size}, {size}, 3) uint8, got {src.shape} {src.dtype}")
        return src, [f"{what}{i}" for i in range(len(src))]
    if per_style and what == "style":
        return load_middle_frames(src, size, settings)
    frames = load_frames(src, size, settings, what)
    return frames, [f"{what}{i}" for i in range(len(frames))]


@dataclass
class _Run:
    """What a run starts from: its config, sources, and the checkpoint payload it continues (if any)."""

    out: Path
    config: CinConfig
    content_src: Source
    style_src: Source
    payload: dict[str, Any] | None  # the run to continue exactly
    base: dict[str, Any] | None  # the StyleBank checkpoint an --add-style run grows by one bank

    @classmethod
    def open(cls, content_src: Source | None, style_src: Source | None, out: Path, config: CinConfig,
             resume: Path | None, add_style: Source | None) -> _Run:
        payload = read_checkpoint(resume) if resume is not None else None
        if out.exists() and (resume is None or out.resolve() != Path(resume).resolve()):
            raise CheckpointError(f"{out} exists; pass --resume {out} to continue that run, or choose another --out")
        if payload is not None:
            saved = CinConfig.from_dict(payload["config"])
            # The run's definition comes from the checkpoint; only its length and checkpoint interval may change.
            saved.steps, saved.save_every = config.steps, config.save_every
            config = saved
            recorded = payload.get("data", {})
            content_src = content_src if content_src is not None else _recorded(recorded, "content", resume)
            style_src = style_src if style_src is not None else _recorded(recorded, "style", resume)
        base = None
        if add_style is not None:
            if payload is None or config.method != "stylebank":
                raise CheckpointError("--add-style needs --resume with a stylebank checkpoint to add the style to")
            base, payload, style_src = payload, None, add_style
        if content_src is None or style_src is None:
            raise CheckpointError("give --content and --styles (or --resume a checkpoint that recorded them)")
        return cls(out, config, content_src, style_src, payload, base)

    def train(self, settings: Settings, device: str, progress: bool, time_limit_s: float | None) -> TrainResult:
        config, out, payload = self.config, self.out, self.payload
        dev = pick_device(device)
        per_style = config.method in PER_STYLE
        contents, _ = _frames(self.content_src, config.image_size, settings, "content", per_style)
        styles, names = _frames(self.style_src, config.image_size, settings, "style", per_style)
        if per_style and payload is None and self.base is None:
            config.n_styles = len(styles)
            config.extra["style_names"] = names
        if self.base is not None and len(styles) != 1:
            raise CheckpointError(f"--add-style learns one style; {len(styles)} style images given")
        torch.manual_seed(config.seed)
        backbone = load_backbone(config.backbone, settings.model.weights_path if
                                 settings.model.backbone == config.backbone else None)
        model = build_model(config, backbone)
        if self.base is not None:
            model.load_trained_state(self.base["state"])
            model.add_style(styles[0])  # type: ignore[attr-defined]
            config.extra["style_names"] = [*config.extra.get("style_names", []), *names]
        model = model.to(dev)
        params = model.trainable()
        opt = torch.optim.Adam(params, lr=config.lr)
        rng = np.random.default_rng(config.seed)
        step, history, seconds = 0, [], 0.0
        if payload is not None:
            model.load_trained_state(payload["state"])
            opt.load_state_dict(payload["optimizer"])
            rng.bit_generator.state = payload["rng"]
            step, history, seconds = payload["step"], payload["history"], payload.get("seconds", 0.0)
        elif self.base is None:
            config.loss_scales = model.prepare(contents, styles, dev)
        first_style = config.frozen_styles  # an --add-style run's style is the new bank's
        saved_at = step
        data = {"contents": len(contents), "styles": len(styles),
                "content": _source_name(self.content_src), "style": _source_name(self.style_src)}
        if self.base is not None:  # what the E, D and older banks cost, for comparisons of the whole model
            data["base"] = {"seconds": self.base.get("seconds", 0.0), "steps": self.base.get("step", 0)}
        elif payload is not None and "base" in payload.get("data", {}):
            data["base"] = payload["data"]["base"]

        def checkpoint(at: int) -> None:
            nonlocal saved_at
            saved_at = at
            save_checkpoint(out, model, {"optimizer": opt.state_dict(), "rng": rng.bit_generator.state, "step": at,
                                         "history": history, "seconds": seconds, "data": data})

        model.train()
        bar = tqdm(total=config.steps, initial=step, unit="step", disable=not progress,
                   desc=f"train-style {config.method}", dynamic_ncols=True)
        t0 = time.monotonic() - seconds
        deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        try:
            while step < config.steps:
                ci, si, flip = _draw(rng, len(contents), len(styles), config.batch)
                c = contents[ci]
                c[flip] = c[flip, :, ::-1]
                idx = torch.as_tensor(si + first_style, device=dev)
                losses = model.training_losses(frames_to_tensor(c, dev), frames_to_tensor(styles[si], dev), idx,
                                               step)
                if not torch.isfinite(losses.total):
                    raise TrainingDiverged(f"the loss is not finite at step {step + 1}; {out} keeps step "
                                           f"{saved_at} (a lower --lr may help)")
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


def _source_name(src: Source) -> str | None:
    return str(Path(src).resolve()) if not isinstance(src, np.ndarray) else None


def _recorded(data: dict[str, Any], what: str, resume: Path | None) -> Path | None:
    """The source a checkpoint recorded (None for frames passed in memory: the caller must give them again)."""
    name = data.get(what)
    if name is None:
        return None
    if not Path(name).exists():
        flag = "--styles" if what == "style" else "--content"
        raise CheckpointError(f"the {what} source {name} recorded in {resume} is gone; pass {flag} again")
    return Path(name)
