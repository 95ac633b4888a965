"""Stylisation for the web page: a catalogue video's keyframe rendered in the look another video's CIN
style vector predicts, so a user can see what that vector captured.

Served from the thumbnails the embeddings dataset already holds, so no source video is needed at query time.
The CIN model is loaded on the model thread on first use (an upload and a render never run at once).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from vidstyle.core.errors import first_line
from vidstyle.service.api.errors import NotFound, Unavailable

if TYPE_CHECKING:
    from vidstyle.core.settings import Settings
    from vidstyle.service.api.catalog import Catalog
    from vidstyle.styletransfer.model import CinModel

log = logging.getLogger("vidstyle.serve")


def decode_thumbnail(jpeg: bytes, side: int) -> np.ndarray:
    """(side, side, 3) uint8: the thumbnail centre-cropped to a square, then resized."""
    img = Image.open(io.BytesIO(jpeg)).convert("RGB")
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return np.asarray(img.resize((side, side), Image.BICUBIC))


class Stylizer:
    """The configured CIN checkpoint (`model.cin_checkpoint`), or none: then `available` is False."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.checkpoint: Path | None = settings.model.cin_checkpoint
        self._model: CinModel | None = None
        self._error: str | None = None

    @property
    def available(self) -> bool:
        return self.checkpoint is not None and self._error is None

    def _get(self) -> CinModel:
        if self.checkpoint is None:
            raise NotFound("no CIN checkpoint is loaded (model.cin_checkpoint; `vidstyle train-style`)")
        if self._error is not None:
            raise Unavailable(self._error)
        if self._model is None:
            from vidstyle.backbones.device import pick_device
            from vidstyle.styletransfer.checkpoint import load_cin

            try:
                self._model = load_cin(self.checkpoint, weights_path=self.settings.model.weights_path,
                                       device=pick_device(self.settings.model.device))
            except Exception as exc:  # noqa: BLE001 - the service keeps answering queries; renders say why not
                self._error = f"CIN model unavailable: {first_line(exc)}"
                log.error(self._error)
                raise Unavailable(self._error) from exc
        return self._model

    def render(self, catalog: Catalog | None, content_id: str, like_id: str, size: int) -> bytes:
        """PNG of `content_id`'s middle keyframe in the style predicted from all of `like_id`'s keyframes.

        Blocking (model work): run it on the model thread.
        """
        model = self._get()
        frames = {}
        for vid in (content_id, like_id):
            media = catalog.media(vid) if catalog is not None else None
            if media is None or not media.thumbnails:
                raise NotFound(f"no keyframes stored for video_id {vid!r}")
            frames[vid] = media.thumbnails
        content = frames[content_id]
        frame = decode_thumbnail(content[len(content) // 2], size)
        refs = np.stack([decode_thumbnail(t, model.config.style_size) for t in frames[like_id]])
        out = model.stylize(frame, refs)
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="PNG")
        return buf.getvalue()
