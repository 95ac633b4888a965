"""`vidstyle stylize`: render a content frame in the look P predicts from another video or image.

This is how a user sees what a `style_cin` vector captured: the same bottleneck that is indexed drives the
transformer's γ, β. The style is the mean bottleneck over the reference's keyframes, the vector the index holds
before normalisation.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from vidstyle.backbones.device import pick_device
from vidstyle.core.files import atomic_write_bytes
from vidstyle.core.settings import Settings
from vidstyle.styletransfer.checkpoint import CheckpointError, load_cin
from vidstyle.styletransfer.data import load_frames
from vidstyle.styletransfer.model import CinModel


def checkpoint_from(settings: Settings, explicit: Path | None) -> Path:
    path = explicit or settings.model.cin_checkpoint
    if path is None:
        raise CheckpointError("no CIN checkpoint: pass --checkpoint or set model.cin_checkpoint (vidstyle train-style)")
    return Path(path)


def render(model: CinModel, content: Path, like: Path, settings: Settings, size: int = 256,
           compare: bool = False) -> np.ndarray:
    """The stylised middle frame of `content` (size x size RGB); with `compare`, [content | like | result]."""
    frames = load_frames(content, size, settings, "content")
    frame = frames[len(frames) // 2]
    refs = load_frames(like, model.config.style_size, settings, "style")
    out = model.stylize(frame, refs)
    if not compare:
        return out
    ref = np.asarray(Image.fromarray(refs[len(refs) // 2]).resize((size, size), Image.BILINEAR))
    return np.concatenate([frame, ref, out], axis=1)


def stylize_file(content: Path, like: Path, out: Path, settings: Settings, checkpoint: Path | None = None,
                 size: int = 256, compare: bool = False, device: str | None = None) -> Path:
    """Write the stylised frame as a PNG (atomically) and return its path."""
    model = load_cin(checkpoint_from(settings, checkpoint),
                     weights_path=settings.model.weights_path, device=pick_device(device or settings.model.device))
    image = render(model, content, like, settings, size, compare)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    atomic_write_bytes(Path(out), buf.getvalue())
    return Path(out)
