"""Frames → content and style vectors, from taps of a frozen ImageNet backbone.

- content: high taps, spatially average-pooled (optionally over the moving region only, see
  `moving_region_weights`), L2-normalised per tap, concatenated, L2-normalised (Gatys; Johnson et al.).
- style_stats: per style tap, the instance-norm statistics — channel mean and std (AdaIN, Huang & Belongie).
- style_gram: per style tap, the Gram matrix (Gatys) of a fixed random sketch of the channels:
  G' = R F Fᵀ Rᵀ / HW with R ∈ ℝ^{c×C} Gaussian, seeded by `projection_seed`. G' is a linear projection
  of the full Gram matrix, so distances between sketches approximate distances between Grams (a JL
  sketch), at c(c+1)/2 dims per tap instead of C(C+1)/2 (131k for relu4_1). Off-diagonal entries are
  scaled by √2 so the vector's Euclidean norm equals the matrix's Frobenius norm.
Every per-tap block is L2-normalised before concatenation so that no tap dominates by scale alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.feature_extraction import create_feature_extractor

from embedder.backbones import LoadedBackbone
from embedder.config import ModelSettings

FEATURE_VERSION = 1
VECTOR_COLUMNS = ("content", "style_stats", "style_gram")


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def l2n(x: np.ndarray | torch.Tensor, axis: int = -1):
    if isinstance(x, torch.Tensor):
        return F.normalize(x, dim=axis, eps=1e-12)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-12)


def moving_region_weights(frames: np.ndarray, grid: int = 28, threshold: float = 6.0) -> np.ndarray | None:
    """Weight map (grid x grid) that is ~0 on regions constant across the video's frames, 1 elsewhere.

    Static templates (three-panel layouts, banners, letterboxes, burnt-in overlays) otherwise dominate a
    whole-frame content vector and make unrelated videos look like near-duplicates. Returns None when
    masking would not help: a single frame, a still video, or one where nearly everything moves.
    """
    if len(frames) < 2:
        return None
    gray = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (grid, grid), interpolation=cv2.INTER_AREA)
                     for f in frames]).astype(np.float32)
    moving = gray.std(axis=0) > threshold
    moving = cv2.dilate(moving.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    fraction = moving.mean()
    if fraction < 0.05 or fraction > 0.8:
        return None
    return moving.astype(np.float32)


@dataclass(frozen=True)
class FeatureLayout:
    content_taps: tuple[str, ...]
    style_taps: tuple[str, ...]
    style_channels: tuple[int, ...]
    dims: dict[str, int]


class FeatureExtractor:
    """Runs a backbone on batches of frames and returns per-frame vectors (see module docstring)."""

    def __init__(self, backbone: LoadedBackbone, settings: ModelSettings) -> None:
        spec = backbone.spec
        self.settings = settings
        self.device = pick_device(settings.device)
        self.content_taps = tuple(settings.content_taps or spec.content_taps)
        self.style_taps = tuple(settings.style_taps or spec.style_taps)
        unknown = [t for t in self.content_taps + self.style_taps if t not in spec.taps]
        if unknown:
            raise ValueError(f"unknown taps {unknown} for {spec.name}; known: {sorted(spec.taps)}")
        nodes = {spec.taps[t]: t for t in dict.fromkeys(self.style_taps + self.content_taps)}
        self.model = create_feature_extractor(
            backbone.model, return_nodes=nodes, tracer_kwargs={"leaf_modules": list(spec.leaf_modules)}
        ).to(self.device, memory_format=torch.channels_last)
        self.mean = torch.tensor(spec.weights.mean, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(spec.weights.std, device=self.device).view(1, 3, 1, 1)

        probe = self._taps(torch.zeros(1, 3, settings.input_size, settings.input_size, device=self.device))
        channels = {name: t.shape[1] for name, t in probe.items()}
        gen = torch.Generator().manual_seed(settings.projection_seed)
        c = settings.gram_channels
        self.sketch = {
            t: (torch.randn(c, channels[t], generator=gen) / c**0.5).to(self.device) for t in self.style_taps
        }
        self.triu = torch.triu_indices(c, c, device=self.device)
        off_diag = (self.triu[0] != self.triu[1]).float()
        self.triu_scale = 1.0 + (2**0.5 - 1.0) * off_diag
        self.dims = {
            "content": sum(channels[t] for t in self.content_taps),
            "style_stats": 2 * sum(channels[t] for t in self.style_taps),
            "style_gram": len(self.style_taps) * c * (c + 1) // 2,
        }
        self.dims["style"] = self.dims[f"style_{settings.style_representation}"]
        self.fingerprint = self._fingerprint(backbone)

    def _fingerprint(self, backbone: LoadedBackbone) -> str:
        s = self.settings
        desc = {
            "backbone": backbone.spec.name,
            "weights_sha256": backbone.weights_sha256,
            "content_taps": self.content_taps,
            "style_taps": self.style_taps,
            "input_size": s.input_size,
            "gram_channels": s.gram_channels,
            "projection_seed": s.projection_seed,
            "style": s.style_representation,
            "content_mask": s.content_mask,
            "aggregate": "mean",
            "version": FEATURE_VERSION,
        }
        digest = hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:12]
        return f"{backbone.spec.name}:{digest}"

    def _taps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.device.type == "cuda"):
            return {k: v.float() for k, v in self.model(x).items()}

    def __call__(self, frames: np.ndarray, region_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """frames: (n, S, S, 3) uint8 RGB; region_weights: (n, g, g) content pooling weights or None."""
        x = torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        taps = self._taps(x)
        with torch.inference_mode():
            content = [self._pool(taps[t], region_weights) for t in self.content_taps]
            stats, grams = [], []
            for t in self.style_taps:
                f = taps[t].flatten(2)  # (n, C, HW)
                stats.append(l2n(torch.cat([f.mean(2), f.std(2)], dim=1)))
                sk = torch.einsum("kc,nch->nkh", self.sketch[t], f)
                gram = sk @ sk.transpose(1, 2) / f.shape[2]
                grams.append(l2n(gram[:, self.triu[0], self.triu[1]] * self.triu_scale))
            out = {
                "content": l2n(torch.cat(content, dim=1)),
                "style_stats": l2n(torch.cat(stats, dim=1)),
                "style_gram": l2n(torch.cat(grams, dim=1)),
            }
        return {k: v.cpu().numpy().astype(np.float32) for k, v in out.items()}

    def _pool(self, fmap: torch.Tensor, region_weights: np.ndarray | None) -> torch.Tensor:
        if region_weights is None:
            return l2n(fmap.mean((2, 3)))
        w = torch.from_numpy(region_weights).to(fmap.device)[:, None]
        w = F.interpolate(w, size=fmap.shape[2:], mode="area")
        return l2n((fmap * w).sum((2, 3)) / w.sum((2, 3)).clamp_min(1e-6))


def aggregate_frames(per_frame: dict[str, np.ndarray], style_representation: str) -> dict[str, np.ndarray]:
    """Video vectors: the mean of its frame vectors, re-normalised; `style` is the configured representation."""
    video = {k: l2n(v.mean(axis=0)).astype(np.float32) for k, v in per_frame.items()}
    video["style"] = video[f"style_{style_representation}"]
    return video
