"""`vidstyle stylize`: render a content frame in the style of another video or image, with any of the seed's
methods.

For `ghiasi` this is how a user sees what a `style_cin` vector captured: the same bottleneck that is indexed
drives the transformer's γ, β (the style is the mean bottleneck over the reference's keyframes, the vector the
index holds before normalisation). `gatys` optimises the pixels and needs no checkpoint; the N-style methods
(`cin`, `johnson`, `stylebank`) render the known style nearest to the reference; `stylebank` can fuse two styles
by region (`mask`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vidstyle.backbones import load_backbone
from vidstyle.backbones.device import pick_device
from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_write_bytes
from vidstyle.core.settings import Settings
from vidstyle.styletransfer.checkpoint import CheckpointError, load_model, read_checkpoint
from vidstyle.styletransfer.data import load_frames
from vidstyle.styletransfer.gatys import gatys
from vidstyle.styletransfer.losses import LossNet
from vidstyle.styletransfer.methods import PER_STYLE, StyleModel
from vidstyle.styletransfer.model import METHODS, CinConfig


class StylizeError(VidstyleError, ValueError):
    """Inputs `stylize` cannot use together (a method and a checkpoint of another, a mask without two styles)."""


@dataclass(frozen=True)
class Stylizer:
    """One method ready to render: a trained model, or Gatys' optimisation with its loss network and steps."""

    method: str
    model: StyleModel | None  # None for gatys
    loss_net: LossNet | None = None  # gatys only
    gatys_steps: int = 100

    def render(self, content: np.ndarray, style_frames: np.ndarray, mask: np.ndarray | None = None,
               second: np.ndarray | None = None) -> tuple[np.ndarray, str]:
        """(H, W, 3) uint8 rendering of `content` and a note on what was used (the known style chosen)."""
        if self.model is None:
            return gatys(content, style_frames, self.loss_net, steps=self.gatys_steps).image, ""
        if self.method not in PER_STYLE:
            return self.model.stylize(content, style_frames), ""
        names = self.model.config.extra.get("style_names", [])
        style, dist = self.model.styles.nearest(self.model.loss_net, style_frames)  # type: ignore[union-attr]
        note = f"known style {_name(names, style)} (key distance {dist:.3f})"
        if mask is None:
            return self.model.stylize(content, style_frames, style=style), note  # type: ignore[call-arg]
        other, dist2 = self.model.styles.nearest(self.model.loss_net, second)  # type: ignore[union-attr]
        note += f" where the mask is white, {_name(names, other)} (key distance {dist2:.3f}) elsewhere"
        image = self.model.stylize(content, style_frames, style=style, mask=mask, second=other)  # type: ignore
        return image, note


def _name(names: list[str], i: int) -> str:
    return f"{i} ({names[i]})" if i < len(names) else str(i)


def checkpoint_from(settings: Settings, explicit: Path | None) -> Path:
    path = explicit or settings.model.cin_checkpoint
    if path is None:
        raise CheckpointError("no checkpoint: pass --checkpoint or set model.cin_checkpoint (vidstyle train-style)")
    return Path(path)


def load_stylizer(settings: Settings, method: str | None = None, checkpoint: Path | None = None,
                  gatys_steps: int = 100, device: str | None = None) -> Stylizer:
    """The method's model from `checkpoint` (default `model.cin_checkpoint`); `method` None means the
    checkpoint's own. `gatys` takes no checkpoint: its loss network is the configured backbone."""
    if method is not None and method not in METHODS:
        raise StylizeError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    dev = pick_device(device or settings.model.device)
    if method == "gatys":
        if checkpoint is not None:
            raise StylizeError("gatys optimises the pixels and takes no --checkpoint")
        backbone = load_backbone(settings.model.backbone, settings.model.weights_path)
        config = CinConfig(method="gatys", backbone=settings.model.backbone)
        return Stylizer("gatys", None, LossNet(config, backbone).to(dev), gatys_steps)
    path = checkpoint_from(settings, checkpoint)
    saved = read_checkpoint(path)["config"].get("method", "ghiasi")
    if method is not None and saved != method:
        raise StylizeError(f"{path} holds a {saved} model, not {method}: pass --method {saved} or another checkpoint")
    model = load_model(path, weights_path=settings.model.weights_path, device=dev)
    return Stylizer(saved, model)


def render(stylizer: Stylizer, content: Path, likes: list[Path], settings: Settings, size: int = 256,
           compare: bool = False, mask: Path | None = None) -> tuple[np.ndarray, str]:
    """The stylised middle frame of `content` (size x size RGB) and a note; with `compare`, [content | like |
    result]. Two `likes` and a `mask` fuse two styles by region (StyleBank)."""
    if mask is not None and stylizer.method != "stylebank":
        raise StylizeError(f"--mask is StyleBank's region-wise fusion; {stylizer.method} cannot mix styles by region")
    if len(likes) != (2 if mask is not None else 1):
        raise StylizeError("give one --like, or two --like with --mask (white: the first style, black: the second)")
    frames = load_frames(content, size, settings, "content")
    frame = frames[len(frames) // 2]
    style_size = stylizer.model.config.style_size if stylizer.model is not None else size
    refs = [load_frames(like, style_size, settings, "style") for like in likes]
    weights = None if mask is None else _mask(mask, size)
    out, note = stylizer.render(frame, refs[0], weights, refs[1] if len(refs) > 1 else None)
    if not compare:
        return out, note
    ref = np.asarray(Image.fromarray(refs[0][len(refs[0]) // 2]).resize((size, size), Image.BILINEAR))
    return np.concatenate([frame, ref, out], axis=1), note


def _mask(path: Path, size: int) -> np.ndarray:
    try:
        with Image.open(path) as img:
            grey = img.convert("L").resize((size, size), Image.BILINEAR)
    except (OSError, ValueError) as exc:
        raise StylizeError(f"cannot read mask {path}: {exc}") from exc
    return np.asarray(grey, np.float32) / 255.0


def save_png(image: np.ndarray, out: Path) -> Path:
    """Write a PNG atomically and return its path."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    atomic_write_bytes(Path(out), buf.getvalue())
    return Path(out)


def stylize_file(content: Path, like: Path | list[Path], out: Path, settings: Settings,
                 checkpoint: Path | None = None, size: int = 256, compare: bool = False, device: str | None = None,
                 method: str | None = None, mask: Path | None = None, gatys_steps: int = 100) -> tuple[Path, str]:
    """Write the stylised frame as a PNG (atomically); its path and the note on the style used."""
    stylizer = load_stylizer(settings, method, checkpoint, gatys_steps, device)
    likes = like if isinstance(like, list) else [like]
    image, note = render(stylizer, content, likes, settings, size, compare, mask)
    return save_png(image, out), note
