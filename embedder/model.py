"""The model side of the embedder: decoded frames → content and style vectors, one `Embedder` per process.

Loading it costs seconds (torch, the backbone, the weights' checksum), so the embed job builds one only when
there is something to embed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidstyle.backbones import load_backbone
from vidstyle.backbones.device import pick_device
from vidstyle.core.settings import Settings
from vidstyle.embedder.content_head import load_content_head, resolve_content_head
from vidstyle.embedder.features import FeatureExtractor, aggregate_frames
from vidstyle.embedder.regions import moving_region_weights, panel_weights
from vidstyle.embedder.style_head import StyleHeadError, load_style_head, resolve_style_head
from vidstyle.media.decode import Decoded, DecodeError
from vidstyle.media.decode_pool import DecodeJob, DecodePool


@dataclass
class EmbeddedVideo:
    fingerprint: str
    vectors: dict[str, np.ndarray]
    decoded: Decoded


class Embedder:
    """The model side of the pipeline: decoded videos → rows with vectors. One instance per process."""

    def __init__(self, settings: Settings, pretrained: bool = True) -> None:
        self.settings = settings
        m = settings.model
        backbone = load_backbone(m.backbone, m.weights_path, pretrained)
        # Learned style (vidstyle.styletransfer): a checkpoint adds `style_cin`; the extractor knows stats/gram only.
        self.cin = None
        if m.cin_checkpoint is not None:
            from vidstyle.embedder.learned_style import CinEmbedding

            self.cin = CinEmbedding(m.cin_checkpoint, backbone, pick_device(m.device), m.style_representation,
                                    m.batch_size)
        base = m.model_copy(update={"style_representation": "stats"}) if m.style_representation == "cin" else m
        head_path = resolve_style_head(m.style_head, m.backbone)
        if head_path is None and m.style_representation == "learned":
            raise StyleHeadError(f"no style head for {m.backbone}: train one with `vidstyle train-style-head` and set "
                                 "model.style_head, or use style_representation 'texture'")
        content_path = resolve_content_head(m.content_head, m.backbone)
        self.features = FeatureExtractor(backbone, base, None if head_path is None else load_style_head(head_path),
                                         None if content_path is None else load_content_head(content_path))
        self.fingerprint = self.features.fingerprint + (self.cin.fingerprint_tag if self.cin else "")
        self.dims = self.features.dims | (self.cin.dims if self.cin else {})
        self._single_pool: DecodePool | None = None
        self._lock = threading.Lock()

    def make_pool(self, workers: int | None = None, allow_images: bool = True) -> DecodePool:
        """Decode workers producing frames for this model (images allowed unless `allow_images` is False)."""
        return DecodePool.from_settings(
            self.settings.decode, self.settings.model.input_size, workers=workers, allow_images=allow_images
        )

    def vectors(self, videos: list[Decoded]) -> list[dict[str, np.ndarray]]:
        """Video vectors for each decoded video, running the backbone on all their frames in batches."""
        if not videos:
            return []
        frames = np.concatenate([v.frames for v in videos])
        weights = None
        if self.settings.model.content_mask:
            masks = self._masks(videos)
            if any(mk is not None for mk in masks):
                share = self.settings.model.content_mask_share
                if share > 0:  # the grid box refined to the pixel: a weight per pixel
                    masks = [None if mk is None else panel_weights(v.frames, mk, share) for v, mk in zip(videos, masks)]
                first = next(mk for mk in masks if mk is not None)
                full = np.ones(first.shape, first.dtype)
                weights = np.concatenate(
                    [np.repeat((full if mk is None else mk)[None], len(v.frames), 0) for v, mk in zip(videos, masks)]
                )
        bs = self.settings.model.batch_size
        chunks = [
            self.features(frames[i : i + bs], None if weights is None else weights[i : i + bs])
            for i in range(0, len(frames), bs)
        ]
        if self.cin is not None:
            for i, chunk in zip(range(0, len(frames), bs), chunks):
                chunk["style_cin"] = self.cin(frames[i : i + bs])
        per_frame = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        out, start = [], 0
        for v in videos:
            n = len(v.frames)
            sl = {k: a[start : start + n] for k, a in per_frame.items()}
            out.append(aggregate_frames(sl, self.settings.model.style_representation))
            start += n
        return out

    def _masks(self, videos: list[Decoded]) -> list[np.ndarray | None]:
        """Each video's moving-region weights (`regions.moving_region_weights`), on the model's device when the
        extractor prepares frames there."""
        if not self.features.torch_preprocess:
            return [moving_region_weights(v.frames) for v in videos]
        from vidstyle.embedder.preprocess import frames_on, moving_region_weights_torch

        frames = frames_on(np.concatenate([v.frames for v in videos]), self.features.device)
        masks = moving_region_weights_torch(frames, [len(v.frames) for v in videos])
        return [None if m is None else m.cpu().numpy() for m in masks]

    def embed_file(self, path: Path) -> EmbeddedVideo:
        """Embed one file (video or image) in an isolated decode worker; DecodeError gives the reason."""
        with self._lock:
            if self._single_pool is None:
                self._single_pool = self.make_pool(workers=1)
            ((_, result),) = list(self._single_pool.imap_unordered([DecodeJob("query", Path(path))]))
        return self.embed_decoded(result)

    def embed_decoded(self, result: Decoded | str) -> EmbeddedVideo:
        """The vectors of one decode result; DecodeError when the result is a failure's reason."""
        if isinstance(result, str):
            raise DecodeError(result)
        return EmbeddedVideo(self.fingerprint, self.vectors([result])[0], result)

    def close(self) -> None:
        if self._single_pool is not None:
            self._single_pool.close()
            self._single_pool = None
