"""A learned content projection: the hand-built content vector, re-weighted so that a look moves it less.

The de-stylised content pass (grey, small, contrast-stretched, blurred, beside its edge map) removes most of a look
by construction, but what is left still moves the deep taps: a stained-glass rendering, an ink drawing or a
blueprint changes which channels fire on the same subject. Those directions can be measured. Rendering training
scenes in many training-family looks gives, per scene, a cloud of content vectors whose spread is the look's effect;
the head is the linear discriminant that shrinks that spread against the spread between scenes:

    whiten by the within-scene covariance S_w (shrunk towards a multiple of the identity, so that directions seen
    rarely in training are not blown up), then keep the `dim` directions with the largest between-scene variance.

Closed form, so the same data give the same head to the last bit, no optimiser, no seed beyond the data's; a 64-dim
projection of a 1,024-dim vector is a few hundred kB. When every direction is kept (`dim` ≥ the input's), the
between-scene rotation changes no cosine, so it is left out: the projection is then the whitening alone, which moves
as little as its data when they move by float rounding, where the rotation's nearly tied axes would turn freely.
Like the style head it is tied to the features it was fitted on (`check_features`) and its sha256 enters the
dataset fingerprint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.core.errors import VidstyleError
from vidstyle.embedder.packaged import packaged_file
from vidstyle.embedder.style_head import read_head_state, resolve_head, save_head_state

CONTENT_HEAD_FORMAT = 1


class ContentHeadError(VidstyleError, ValueError):
    """A content head that cannot be used: missing, unreadable, or fitted on other features."""


def fit_projection(x: np.ndarray, labels: np.ndarray, shrinkage: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), projection (D, dim)): within-class whitening with shrinkage, then the top between-class axes.

    `x`: (n, D) content vectors; `labels`: (n,) the scene each was rendered from. `shrinkage` is the weight of
    trace(S_w)/D · I added to S_w (0 = plain LDA, large = PCA of the class means).
    """
    x = np.asarray(x, np.float64)
    classes, index = np.unique(labels, return_inverse=True)
    if len(classes) < 2 or dim < 1:
        raise ContentHeadError(f"a content head needs at least two scenes and dim >= 1 (got {len(classes)}, {dim})")
    mean = x.mean(0)
    class_means = np.stack([x[index == c].mean(0) for c in range(len(classes))])
    within = x - class_means[index]
    s_w = within.T @ within / len(x)
    d = s_w.shape[0]
    s_w += shrinkage * np.trace(s_w) / d * np.eye(d)
    values, vectors = np.linalg.eigh(s_w)
    whiten = (vectors * values**-0.5) @ vectors.T
    if dim >= d:  # every axis kept: the rotation below would change no cosine (module docstring)
        return mean.astype(np.float32), whiten.astype(np.float32)
    between = (class_means - mean) @ whiten
    s_b = between.T @ between / len(classes)
    _, axes = np.linalg.eigh(s_b)  # ascending
    projection = whiten @ axes[:, ::-1][:, :dim]
    # eigh's signs are arbitrary up to the platform's LAPACK; fix them so the checkpoint is reproducible
    projection *= np.sign(projection[np.abs(projection).argmax(0), np.arange(projection.shape[1])])
    return mean.astype(np.float32), projection.astype(np.float32)


class ContentHead:
    """x ↦ normalise((x − mean) · P) over per-frame hand content vectors (`FeatureExtractor` 'content')."""

    def __init__(self, mean: np.ndarray | torch.Tensor, projection: np.ndarray | torch.Tensor, features: dict) -> None:
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.projection = torch.as_tensor(projection, dtype=torch.float32)
        self.features = dict(features)
        self.sha256 = "unsaved"

    @property
    def in_dim(self) -> int:
        return int(self.projection.shape[0])

    @property
    def out_dim(self) -> int:
        return int(self.projection.shape[1])

    def to(self, device: torch.device | str) -> ContentHead:
        self.mean, self.projection = self.mean.to(device), self.projection.to(device)
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize((x - self.mean) @ self.projection, dim=1, eps=1e-12)

    def check_features(self, features: dict, in_dim: int) -> None:
        """Refuse content vectors other than those the head was fitted on, saying what differs and what to do."""
        problems = [f"{key} {value!r} vs the head's {self.features.get(key)!r}"
                    for key, value in features.items() if self.features.get(key) != value]
        if in_dim != self.in_dim:
            problems.append(f"{in_dim} dims vs the head's {self.in_dim}")
        if problems:
            raise ContentHeadError("the content head was fitted on other features: " + "; ".join(problems)
                                   + " (fit one for these settings with `vidstyle train-content-head`, or set "
                                   "model.content_head: null)")


def save_content_head(head: ContentHead, path: Path, extra: dict | None = None) -> None:
    """The projection with what it was fitted on; `extra` (the training record) is kept beside it."""
    save_head_state({"format": CONTENT_HEAD_FORMAT, "features": head.features, "mean": head.mean.cpu(),
                     "projection": head.projection.cpu(), "extra": extra or {}}, path)


def load_content_head(path: Path) -> ContentHead:
    head, head.sha256 = read_head_state(
        path, "content head", CONTENT_HEAD_FORMAT, ContentHeadError,
        lambda state: ContentHead(state["mean"], state["projection"], state["features"]),
        "fit one with `vidstyle train-content-head`")
    return head


def packaged_content_head(backbone: str) -> Path | None:
    """The head shipped in the package for `backbone`, if one was fitted (heads/<backbone>_content.pt)."""
    return packaged_file(f"{backbone}_content.pt")


def resolve_content_head(setting: str | Path | None, backbone: str) -> Path | None:
    """`model.content_head`: None = no head; 'auto' = the packaged head of the backbone when there is one."""
    return resolve_head(setting, lambda: packaged_content_head(backbone))
