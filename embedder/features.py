"""Frames → content and style vectors, from taps of a frozen ImageNet backbone, in two passes.

- style pass: the full-resolution colour frame through the low taps (palette, texture, brushwork).
  - style_stats: per style tap, the instance-norm statistics — channel mean and std (AdaIN, Huang & Belongie),
    plus, when `style_colour` > 0, a square-rooted joint RGB histogram (the palette itself).
  - style_gram: per style tap, the Gram matrix (Gatys) of a fixed random sketch of the channels:
    G' = R F Fᵀ Rᵀ / HW with R ∈ ℝ^{c×C} Gaussian, seeded by `projection_seed`. G' is a linear projection
    of the full Gram matrix, so distances between sketches approximate distances between Grams (a JL
    sketch), at c(c+1)/2 dims per tap instead of C(C+1)/2 (131k for relu4_1). Off-diagonal entries are
    scaled by √2 so the vector's Euclidean norm equals the matrix's Frobenius norm.
  - style_texture: texture apart from palette — the style taps' statistics of the *luminance* image at each of
    `texture_scales` (strokes, dots, grain whatever the colours), beside a chroma histogram (which colours) and a
    tone histogram (how tones are mapped), so a texture look is recognised in any colours and a grade on any
    texture.
  - style_learned (with a style head, `embedder/style_head.py`): the head's output over every per-frame style
    block (`style_blocks`), beside style_stats weighted by `style_head_stats` and, with `style_head_palette`, the
    RGB histogram weighed per frame by how concentrated it is (`palette_concentration`). A head may also read the same
    statistics of deeper taps of the colour pass (`deep/<tap>` blocks: strokes and line kinds are mid-level
    properties that the low taps see only as texture); the extractor computes them only for such a head.
- content pass: the frame cropped to its moving region when a static template frames it
  (`regions.moving_region_weights`), then de-stylised — grey, small (`content_input_size`), optionally
  contrast-stretched, lightly blurred — through the high taps, spatially pooled, optionally beside the same taps
  of its edge map. These steps run in OpenCV per frame on a CPU, or as batched torch ops on the model's device
  (`embedder/preprocess.py`, `model.preprocess`), which give the same vectors up to OpenCV's rounding. With a
  content head (`embedder/content_head.py`), that hand-built vector is projected onto the directions that tell
  scenes apart and ignore looks, fitted on training-family renderings.
  A look lives in colour and fine texture; what is shown survives at low resolution in luminance, so the deep
  taps describe the subject rather than the filter (Geirhos et al. showed ImageNet CNNs lean on texture; this
  takes the texture away from them). Measured in bench/RESULTS.md.
Every per-tap block is normalised (L2, or signed square root then L2) before concatenation so that no tap
dominates by scale alone, and the concatenation is L2-normalised.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.backbones import LoadedBackbone, frames_to_tensor
from vidstyle.backbones.device import pick_device
from vidstyle.core.settings import ModelSettings
from vidstyle.embedder.content_head import ContentHead
from vidstyle.embedder.preprocess import colour_histogram_torch, content_frames_torch, edge_map_torch, frames_on
from vidstyle.embedder.regions import mask_box
from vidstyle.embedder.style_head import StyleHead

FEATURE_VERSION = 4
STYLE_BLOCKS_VERSION = 1
"""What `FeatureExtractor.style_blocks` computes (a style head's input); bump it when that changes."""
VECTOR_COLUMNS = ("content", "style_stats", "style_gram")


def l2n(x: np.ndarray | torch.Tensor, axis: int = -1):
    if isinstance(x, torch.Tensor):
        return F.normalize(x, dim=axis, eps=1e-12)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-12)


@dataclass(frozen=True)
class FeatureLayout:
    content_taps: tuple[str, ...]
    style_taps: tuple[str, ...]
    style_channels: tuple[int, ...]
    dims: dict[str, int]


def content_frames(frames: np.ndarray, region_weights: np.ndarray | None, settings: ModelSettings) -> np.ndarray:
    """The content pass input: each frame cropped to its moving box, resized, optionally grey and blurred.

    A look (filter, grade, stylisation) lives mostly in colour and fine texture: halftone dots, grain, pencil
    strokes, pixel blocks. Luminance at low resolution, lightly blurred, keeps what the picture shows and drops
    most of how it was rendered, so the deep taps see the subject rather than the filter (measured in
    bench/RESULTS.md). Returns (n, s, s, 3) uint8 with s = settings.content_input_size.
    """
    size = settings.content_input_size
    out = np.empty((len(frames), size, size, 3), np.uint8)
    for i, frame in enumerate(frames):
        box = None if region_weights is None else mask_box(region_weights[i], frame.shape[0])
        if box is not None:
            top, bottom, left, right = box
            frame = frame[top:bottom, left:right]
        small = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
        if settings.content_grayscale:
            small = np.repeat(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        if settings.content_contrast:
            small = stretch_contrast(small)
        if settings.content_blur > 0:
            small = cv2.GaussianBlur(small, (0, 0), settings.content_blur)
        out[i] = small
    return out


def stretch_contrast(img: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """`img` (uint8) with its `low`..`high` percentiles stretched to 0..255: a washed-out, faded or low-key look
    keeps its subject's shapes but at a fraction of the contrast, which the deep taps read as "less of it"."""
    lo, hi = np.percentile(img, (low, high))
    if hi - lo < 1:
        return img
    return np.clip((img.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def edge_map(images: np.ndarray) -> np.ndarray:
    """(n, s, s, 3) uint8 → the same shape: gradient magnitude of the luminance, stretched to full range.

    What survives a line drawing, an engraving, an emboss or a neon outline is where the edges are, not the
    shading between them; comparing edge maps lets a photo match its own line rendering.
    """
    out = np.empty_like(images)
    for i, img in enumerate(images):
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        mag = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        mag = np.clip(mag * (255.0 / max(float(np.percentile(mag, 99)), 1.0)), 0, 255).astype(np.uint8)
        out[i] = mag[..., None]
    return out


COLOUR_BINS = 8
CHROMA_BINS = 16
TONE_BINS = 32
_LUMA = (0.299, 0.587, 0.114)


def colour_histogram(frames: np.ndarray, bins: int = COLOUR_BINS) -> torch.Tensor:
    """(n, bins³) square-rooted joint RGB histograms (Hellinger): the palette, which CNN statistics blur.

    The low taps' channel statistics mix colour with texture and with the subject's own colours; a plain
    palette histogram separates grades (sepia, duotone, thermal, teal-orange) that differ in colour alone.
    """
    q = torch.from_numpy(np.asarray(frames).astype(np.int64)) * bins // 256  # a copy: read-only frames are fine
    codes = ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).flatten(1)
    hist = torch.zeros(len(frames), bins**3).scatter_add_(1, codes, torch.ones_like(codes, dtype=torch.float32))
    return (hist / codes.shape[1]).sqrt()


def palette_concentration(rgb: torch.Tensor) -> torch.Tensor:
    """(n,) 1 − H(p) / log(bins) of each frame's RGB histogram p (the square of its Hellinger block `rgb`): 0 for
    colours spread over every bin, 1 for one colour.

    A look that brings its own palette (sepia, a tint, a monitor, cyanotype, graphite on paper) squeezes the
    frame's colours into few bins; a look that keeps the subject's colours (a painterly filter, a texture, pixel
    art) leaves them as spread as the subject's. Used as a fixed gate on the palette's weight, it lets the palette
    count where a look set it and little where the subject did.
    """
    p = rgb.square()
    p = p / p.sum(1, keepdim=True).clamp_min(1e-12)
    entropy = -(p * torch.where(p > 0, p, torch.ones_like(p)).log()).sum(1)
    return 1.0 - entropy / math.log(rgb.shape[1])


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) RGB in [0, 1] → (n, 3, H, W): the luma (BT.601) repeated on three channels, the input the
    backbone's texture pass sees (palette gone, strokes, dots, grain and edges kept)."""
    w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True).expand(-1, 3, -1, -1)


def palette_histograms(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, H, W) RGB in [0, 1] → square-rooted chroma (CbCr, CHROMA_BINS²) and tone (luma, TONE_BINS) histograms.

    The two halves of a grade kept apart: *which colours* (chroma, whatever the brightness) and *how tones are
    mapped* (the luma distribution: a lifted black, a crushed highlight, an S-curve). A joint RGB histogram mixes
    the two and, binned coarsely, cannot tell two tone curves on one palette apart.
    """
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    y = _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b
    cb = ((b - y) / 1.772 + 0.5).clamp(0, 1 - 1e-6)
    cr = ((r - y) / 1.402 + 0.5).clamp(0, 1 - 1e-6)
    n = x.shape[0]
    chroma_codes = ((cb * CHROMA_BINS).long() * CHROMA_BINS + (cr * CHROMA_BINS).long()).flatten(1)
    tone_codes = (y.clamp(0, 1 - 1e-6) * TONE_BINS).long().flatten(1)
    ones = torch.ones_like(chroma_codes, dtype=x.dtype)
    chroma = torch.zeros(n, CHROMA_BINS**2, dtype=x.dtype, device=x.device).scatter_add_(1, chroma_codes, ones)
    tone = torch.zeros(n, TONE_BINS, dtype=x.dtype, device=x.device).scatter_add_(1, tone_codes, ones)
    pixels = chroma_codes.shape[1]
    return (chroma / pixels).sqrt(), (tone / pixels).sqrt()


def _signed_sqrt(x: torch.Tensor) -> torch.Tensor:
    return x.sign() * x.abs().sqrt()


class FeatureExtractor:
    """Runs a backbone on batches of frames and returns per-frame vectors (see module docstring).

    Two passes share the frozen backbone: the style taps on the full-resolution colour frame, the content taps
    on the de-stylised content input (`content_frames`), cropped to the moving region when a static template
    surrounds it.
    """

    def __init__(self, backbone: LoadedBackbone, settings: ModelSettings, style_head: StyleHead | None = None,
                 content_head: ContentHead | None = None, deep_taps: tuple[str, ...] | None = None) -> None:
        """`deep_taps`: deeper taps whose statistics join the style blocks (`deep/<tap>`); None = those the style
        head was trained on (none without a head), so a head without them costs nothing and changes nothing."""
        spec = backbone.spec
        self.settings = settings
        self.device = pick_device(settings.device)
        # OpenCV per frame is faster on a CPU; on a GPU it would starve the model (embedder/preprocess.py).
        self.torch_preprocess = settings.preprocess == "torch" or (
            settings.preprocess == "auto" and self.device.type == "cuda")
        self.content_taps = tuple(settings.content_taps or spec.content_taps)
        self.style_taps = tuple(settings.style_taps or spec.style_taps)
        if deep_taps is None:
            deep_taps = () if style_head is None else deep_taps_of(style_head.layout)
        self.deep_taps = tuple(deep_taps)
        self.style_model, self.content_model = (
            backbone.tap_model(taps).to(self.device, memory_format=torch.channels_last)
            for taps in (self.style_taps, self.content_taps)
        )
        # The colour pass runs on to the deep taps only when they are read; the luminance passes never need them.
        self.colour_model = self.style_model if not self.deep_taps else backbone.tap_model(
            self.style_taps + self.deep_taps).to(self.device, memory_format=torch.channels_last)
        self.mean = torch.tensor(spec.weights.mean, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(spec.weights.std, device=self.device).view(1, 3, 1, 1)

        probe = self._taps(self.colour_model, torch.zeros(1, 3, settings.input_size, settings.input_size))
        probe |= self._taps(self.content_model, torch.zeros(1, 3, settings.content_input_size,
                                                            settings.content_input_size))
        channels = {name: t.shape[1] for name, t in probe.items()}
        self._channels = channels
        gen = torch.Generator().manual_seed(settings.projection_seed)
        c = settings.gram_channels
        self.sketch = {
            t: (torch.randn(c, channels[t], generator=gen) / c**0.5).to(self.device) for t in self.style_taps
        }
        self.triu = torch.triu_indices(c, c, device=self.device)
        off_diag = (self.triu[0] != self.triu[1]).float()
        self.triu_scale = 1.0 + (2**0.5 - 1.0) * off_diag
        colour = COLOUR_BINS**3 if settings.style_colour > 0 else 0
        tap_stats = 2 * sum(channels[t] for t in self.style_taps)
        self.dims = {
            "content": sum(channels[t] for t in self.content_taps) * (2 if settings.content_edges else 1),
            "style_stats": tap_stats + colour,
            "style_gram": len(self.style_taps) * c * (c + 1) // 2,
            "style_texture": len(settings.texture_scales) * tap_stats + CHROMA_BINS**2 + TONE_BINS,
        }
        self.backbone = backbone
        self.head = style_head
        if style_head is not None:
            style_head.check_layout(self.block_layout(), self.head_features())
            self.head = style_head.to(self.device)
            self.dims["style_learned"] = style_head.out_dim + self.dims["style_stats"] + (
                COLOUR_BINS**3 if settings.style_head_palette > 0 else 0)
        self.dims["style"] = self.dims[f"style_{settings.style_representation}"]
        self.content_head = content_head
        if content_head is not None:
            content_head.check_features(self.content_features(), self.dims["content"])
            self.content_head = content_head.to(self.device)
            self.dims["content"] = content_head.out_dim
        self.fingerprint = self._fingerprint(backbone)

    def head_features(self) -> dict:
        """What else a style head depends on besides the block layout: the backbone, its weights, the input."""
        s = self.settings
        return {"backbone": self.backbone.spec.name, "weights_sha256": self.backbone.weights_sha256,
                "input_size": s.input_size, "style_norm": s.style_norm}

    def content_features(self) -> dict:
        """What the hand-built content vector (a content head's input) depends on."""
        s = self.settings
        return {"backbone": self.backbone.spec.name, "weights_sha256": self.backbone.weights_sha256,
                "content_taps": list(self.content_taps), "content_input": [s.content_input_size, s.content_grayscale,
                                                                           s.content_blur, s.content_pooling],
                "content_norm": s.content_norm, "content_contrast": [s.content_contrast, s.content_edges]}

    def block_layout(self, deep: bool = True) -> dict[str, int]:
        """Name → size of every per-frame style block (`style_blocks`), in order: what a style head is built on.
        `deep=False`: without the deep taps' blocks (which always come last)."""
        layout = {f"colour/{t}": 2 * self._channels[t] for t in self.style_taps}
        layout |= {f"luma{k}/{t}": 2 * self._channels[t] for k in self.settings.texture_scales for t in self.style_taps}
        layout |= {"rgb": COLOUR_BINS**3, "chroma": CHROMA_BINS**2, "tone": TONE_BINS}
        return layout | ({f"deep/{t}": 2 * self._channels[t] for t in self.deep_taps} if deep else {})

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
            # The box refinement joins only when set, so fingerprints of settings without it stay as they were.
            "content_mask": [s.content_mask, s.content_mask_share] if s.content_mask_share > 0 else s.content_mask,
            "content_input": [s.content_input_size, s.content_grayscale, s.content_blur, s.content_pooling],
            "norm": [s.content_norm, s.style_norm],
            "style_colour": [s.style_colour, COLOUR_BINS],
            "texture": [s.texture_scales, s.style_chroma, s.style_tone, CHROMA_BINS, TONE_BINS],
            "content_contrast": [s.content_contrast, s.content_edges],
            # The palette weight joins only when set, so fingerprints of settings without it stay as they were.
            "head": None if self.head is None else [self.head.sha256, s.style_head_stats] + (
                [s.style_head_palette] if s.style_head_palette > 0 else []),
            "aggregate": "mean",
            "version": FEATURE_VERSION,
        }
        if self.content_head is not None:  # absent without one: fingerprints of head-less settings stay as they were
            desc["content_head"] = self.content_head.sha256
        digest = hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:12]
        return f"{backbone.spec.name}:{digest}"

    def _taps(self, model: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((x.to(self.device) - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.device.type == "cuda"):
            return {k: v.float() for k, v in model(x).items()}

    @staticmethod
    def _block(x: torch.Tensor, norm: str) -> torch.Tensor:
        """One tap's block, normalised so that no tap dominates by scale alone (ssqrt also damps the few
        channels that fire hardest, which otherwise decide the cosine on their own)."""
        return l2n(_signed_sqrt(x) if norm == "ssqrt" else x)

    def _stats(self, fmaps: dict[str, torch.Tensor], prefix: str, taps: tuple[str, ...] | None = None
               ) -> dict[str, torch.Tensor]:
        """Per style tap (or per one of `taps`), the channel mean and std (AdaIN's instance-norm statistics), one
        normalised block each."""
        out = {}
        for t in self.style_taps if taps is None else taps:
            f = fmaps[t].flatten(2)
            out[f"{prefix}/{t}"] = self._block(torch.cat([f.mean(2), f.std(2)], dim=1), self.settings.style_norm)
        return out

    def style_blocks(self, frames: np.ndarray, u8: torch.Tensor | None = None, deep: bool = True
                     ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Per-frame style blocks (`block_layout`, each normalised) and the colour pass's tap maps (for Grams).

        - `colour/<tap>`: the statistics of the colour frame (palette and texture mixed, today's `style_stats`);
        - `luma<scale>/<tap>`: the statistics of the luminance image at each of `texture_scales`: texture, strokes
          and rendering whatever the colours, at two viewing distances (a halftone's dots at one, its tone at the
          other);
        - `rgb`, `chroma`, `tone`: the palette as a joint RGB histogram, as chroma alone and as the tone curve;
        - `deep/<tap>` (only with `deep_taps`, and `deep`): the colour frame's statistics at the deeper taps.

        `u8`: the frames already on the model's device (`frames_on`), when the caller has them there.
        """
        u8 = frames_on(frames, self.device) if u8 is None else u8
        x = u8.permute(0, 3, 1, 2).float().div_(255)
        colour_maps = self._taps(self.colour_model if deep else self.style_model, x)
        blocks = self._stats(colour_maps, "colour")
        grey = luminance(x)
        for k in self.settings.texture_scales:
            g = grey if k == 1 else F.interpolate(grey, scale_factor=k, mode="bilinear", antialias=True)
            blocks |= self._stats(self._taps(self.style_model, g), f"luma{k}")
        with torch.inference_mode():
            chroma, tone = palette_histograms(x)
            rgb = colour_histogram_torch(u8) if self.torch_preprocess else colour_histogram(frames)
            blocks["rgb"] = l2n(rgb.to(self.device))
            blocks["chroma"], blocks["tone"] = l2n(chroma), l2n(tone)
        if deep:
            blocks |= self._stats(colour_maps, "deep", self.deep_taps)
        return blocks, colour_maps

    def deep_blocks(self, frames: np.ndarray) -> dict[str, torch.Tensor]:
        """The `deep/<tap>` blocks alone (the colour pass only), for data whose other blocks are already stored."""
        x = frames_on(frames, self.device).permute(0, 3, 1, 2).float().div_(255)
        return self._stats(self._taps(self.colour_model, x), "deep", self.deep_taps)

    def __call__(self, frames: np.ndarray, region_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """frames: (n, S, S, 3) uint8 RGB; region_weights: (n, g, g) moving-region masks (content crop) or None."""
        s = self.settings
        u8 = frames_on(frames, self.device)  # one copy to a GPU for both passes; none on a CPU
        blocks, colour_maps = self.style_blocks(frames, u8)
        content = self.hand_content(frames, region_weights, u8)
        with torch.inference_mode():
            if self.content_head is not None:
                content = self.content_head(content)
            grams = []
            for t in self.style_taps:
                sk = torch.einsum("kc,nch->nkh", self.sketch[t], colour_maps[t].flatten(2))
                gram = sk @ sk.transpose(1, 2) / sk.shape[2]
                grams.append(self._block(gram[:, self.triu[0], self.triu[1]] * self.triu_scale, s.style_norm))
            stats = [blocks[f"colour/{t}"] for t in self.style_taps]
            if s.style_colour > 0:  # the AdaIN statistics only: style_gram stays Gatys' Gram alone
                stats.append(self._block(blocks["rgb"], s.style_norm) * s.style_colour**0.5)
            luma = [b for name, b in blocks.items() if name.startswith("luma")]
            # Texture blocks weigh one tap each; chroma and tone are weighted in taps, like style_colour.
            texture = [*luma, blocks["chroma"] * s.style_chroma**0.5, blocks["tone"] * s.style_tone**0.5]
            out = {
                "content": content,
                "style_stats": l2n(torch.cat(stats, dim=1)),
                "style_gram": l2n(torch.cat(grams, dim=1)),
                "style_texture": l2n(torch.cat(texture, dim=1)),
            }
            if self.head is not None:
                learned = self.head(torch.cat(list(blocks.values()), dim=1))
                parts = [learned, out["style_stats"] * s.style_head_stats**0.5]
                if s.style_head_palette > 0:  # two frames' palettes count by g_a · g_b (palette_concentration)
                    gate = palette_concentration(blocks["rgb"])[:, None]
                    parts.append(blocks["rgb"] * gate * s.style_head_palette**0.5)
                out["style_learned"] = l2n(torch.cat(parts, 1))
        return {k: v.cpu().numpy().astype(np.float32) for k, v in out.items()}

    def hand_content(self, frames: np.ndarray, region_weights: np.ndarray | None = None,
                     u8: torch.Tensor | None = None) -> torch.Tensor:
        """(n, D) the hand-built content vectors (before any content head): per content tap, the pooled taps of the
        de-stylised input and, with `content_edges`, of its edge map, each block normalised, then concatenated and
        L2-normalised. `region_weights` are used only with `content_mask`."""
        s = self.settings
        u8 = frames_on(frames, self.device) if u8 is None else u8
        content_in, edges_in = self._content_inputs(frames, u8, region_weights if s.content_mask else None)
        content_taps = self._taps(self.content_model, content_in)
        with torch.inference_mode():
            content = [self._block(self._pool(content_taps[t]), s.content_norm) for t in self.content_taps]
            if edges_in is not None:
                edge_taps = self._taps(self.content_model, edges_in)
                content += [self._block(self._pool(edge_taps[t]), s.content_norm) for t in self.content_taps]
            return l2n(torch.cat(content, dim=1))

    def _content_inputs(self, frames: np.ndarray, u8: torch.Tensor, region_weights: np.ndarray | None
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The content pass's input and, with `content_edges`, its edge map: (n, 3, s, s) in [0, 1], prepared
        by OpenCV on the CPU or by the same steps as torch ops on the model's device (`torch_preprocess`)."""
        s = self.settings
        if not self.torch_preprocess:
            content_in = content_frames(frames, region_weights, s)
            edges = frames_to_tensor(edge_map(content_in)) if s.content_edges else None
            return frames_to_tensor(content_in), edges
        with torch.inference_mode():
            weights = None if region_weights is None else torch.from_numpy(region_weights).to(self.device)
            content_in = content_frames_torch(u8, weights, s)
            edges = edge_map_torch(content_in.mul(255).round_()).div(255) if s.content_edges else None
        return content_in, edges

    def _pool(self, fmap: torch.Tensor) -> torch.Tensor:
        if self.settings.content_pooling == "gem":  # generalised mean, p = 3 (Radenović et al.)
            return fmap.clamp_min(1e-6).pow(3).mean((2, 3)).pow(1 / 3)
        return fmap.mean((2, 3))


def deep_taps_of(layout: dict[str, int]) -> tuple[str, ...]:
    """The deep taps a style head's block layout reads (its `deep/<tap>` blocks), in order."""
    return tuple(name.split("/", 1)[1] for name in layout if name.startswith("deep/"))


def aggregate_frames(per_frame: dict[str, np.ndarray], style_representation: str) -> dict[str, np.ndarray]:
    """Video vectors: the mean of its frame vectors, re-normalised; `style` is the configured representation."""
    video = {k: l2n(v.mean(axis=0)).astype(np.float32) for k, v in per_frame.items()}
    video["style"] = video[f"style_{style_representation}"]
    return video
