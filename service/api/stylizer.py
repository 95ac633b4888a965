"""Stylisation for the web page: a catalogue video's keyframe rendered in another video's look by each
style-transfer method the server has a checkpoint for, so a user can compare what the methods make of one pair.

Served from the thumbnails the embeddings dataset already holds, so no source video is needed at query time.
Checkpoints come from settings: `stylize.checkpoints` per method, `model.cin_checkpoint` for `ghiasi` (the
model behind the `style_cin` vector) when the former names none. Gatys et al.'s optimisation needs no checkpoint
but one backbone forward and backward pass per step, so it is on the page only with `stylize.gatys_steps` > 0,
at at most `GATYS_MAX_SIDE` pixels. Each model is loaded on the model thread on first use (an upload and a render
never run at once); one that fails to load answers 503 with the reason, and the others keep working.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from vidstyle.core.errors import first_line
from vidstyle.service.api.errors import NotFound, Unavailable

if TYPE_CHECKING:
    from vidstyle.core.settings import Settings
    from vidstyle.service.api.catalog import Catalog
    from vidstyle.styletransfer.stylize import Stylizer as MethodStylizer

log = logging.getLogger("vidstyle.serve")

PAGE_METHODS = ("ghiasi", "adain", "cin", "johnson", "stylebank", "gatys")
"""Every method the render route takes, in the order the page shows them (feed-forward first, Gatys last)."""
GATYS_MAX_SIDE = 128  # Gatys' cost grows with the pixels it optimises: larger requests are rendered at this side


@dataclass(frozen=True)
class MethodState:
    """What `GET /v1/stylize` says of one method."""

    method: str
    available: bool
    checkpoint: str | None  # file name; None for gatys or when none is configured
    reason: str | None  # why it is not available


@dataclass(frozen=True)
class Render:
    png: bytes
    note: str  # the known style an N-style method used, or ""


def decode_thumbnail(jpeg: bytes, side: int) -> np.ndarray:
    """(side, side, 3) uint8: the thumbnail centre-cropped to a square, then resized."""
    img = Image.open(io.BytesIO(jpeg)).convert("RGB")
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return np.asarray(img.resize((side, side), Image.BICUBIC))


class Stylizer:
    """The configured methods, each loaded on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ghiasi = settings.stylize.checkpoints.get("ghiasi", settings.model.cin_checkpoint)  # type: ignore[call-overload]
        self.checkpoints: dict[str, Path] = dict(settings.stylize.checkpoints) | (
            {"ghiasi": ghiasi} if ghiasi is not None else {})
        self._loaded: dict[str, MethodStylizer] = {}
        self._errors: dict[str, str] = {}

    @property
    def checkpoint(self) -> Path | None:
        """Ghiasi's checkpoint: the default method's (what `available` is about)."""
        return self.checkpoints.get("ghiasi")

    @property
    def available(self) -> bool:
        return self.state("ghiasi").available

    def state(self, method: str) -> MethodState:
        if method == "gatys":
            steps = self.settings.stylize.gatys_steps
            off = None if steps else ("off on this server (stylize.gatys_steps: 0): Gatys optimises the pixels, one "
                                      "backbone forward and backward pass per step, seconds per render on a CPU")
            return MethodState("gatys", off is None, None, off)
        path = self.checkpoints.get(method)
        if path is None:
            where = "stylize.checkpoints.ghiasi or model.cin_checkpoint" if method == "ghiasi" else (
                f"stylize.checkpoints.{method}")
            return MethodState(method, False, None,
                               f"no {method} checkpoint configured ({where}; `vidstyle train-style --method {method}`)")
        error = self._errors.get(method)
        return MethodState(method, error is None, Path(path).name, error)

    def methods(self) -> list[MethodState]:
        return [self.state(m) for m in PAGE_METHODS]

    def check(self, method: str) -> None:
        """404 (not configured) or 503 (failed to load) at once, without waiting for the model thread."""
        if method in self._errors:
            raise Unavailable(self._errors[method])
        state = self.state(method)
        if not state.available:
            raise NotFound(state.reason or f"{method} is not available")

    def _get(self, method: str) -> MethodStylizer:
        self.check(method)
        if method not in self._loaded:
            from vidstyle.styletransfer.stylize import load_stylizer

            try:
                self._loaded[method] = load_stylizer(self.settings, method, self.checkpoints.get(method),
                                                     gatys_steps=self.settings.stylize.gatys_steps,
                                                     device=self.settings.model.device)
            except Exception as exc:  # noqa: BLE001 - the service keeps answering; renders say why not
                self._errors[method] = f"{method} model unavailable: {first_line(exc)}"
                log.error(self._errors[method])
                raise Unavailable(self._errors[method]) from exc
        return self._loaded[method]

    def render(self, catalog: Catalog | None, content_id: str, like_id: str, size: int,
               method: str = "ghiasi") -> Render:
        """PNG of `content_id`'s middle keyframe rendered by `method` in the look of all of `like_id`'s keyframes.

        Blocking (model work): run it on the model thread.
        """
        stylizer = self._get(method)
        frames = {}
        for vid in (content_id, like_id):
            media = catalog.media(vid) if catalog is not None else None
            if media is None or not media.thumbnails:
                raise NotFound(f"no keyframes stored for video_id {vid!r}")
            frames[vid] = media.thumbnails
        content = frames[content_id]
        side = min(size, GATYS_MAX_SIDE) if stylizer.model is None else size
        frame = decode_thumbnail(content[len(content) // 2], side)
        style_side = stylizer.model.config.style_size if stylizer.model is not None else side
        refs = np.stack([decode_thumbnail(t, style_side) for t in frames[like_id]])
        out, note = stylizer.render(frame, refs)
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="PNG")
        return Render(buf.getvalue(), note)
