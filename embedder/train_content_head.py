"""Fitting the content head (`vidstyle train-content-head`): training scenes in training-family looks only.

Data. The style head's renderer (`train_style_head.render_training_frames`): groups of `contents_per_group`
training scenes (bundled photos that are not benchmark subjects, each a random crop, or random drawings) rendered in
`looks_per_group` look instances of the *training* families, each rendering cropped, squashed to the input square
and JPEG-compressed. Here the label is the scene (group, scene) instead of the look: the eight renderings of one
scene are one class, so the within-class spread is what looks, crops and codecs do to the content vector, and the
between-class spread is what a change of subject does. The held-out families are never rendered. With
`composed_looks`, each group's scenes are also rendered in that many composed looks (two training looks of different
families in sequence; `HeadTraining.composed_looks`), more ways for a look to disguise the same subject.

Fit. `content_head.fit_projection` on the hand-built content vectors of those frames (closed form; the data are
seeded, so the same command writes the same checkpoint byte for byte).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vidstyle.core.settings import Settings
from vidstyle.embedder.content_head import ContentHead, fit_projection, save_content_head
from vidstyle.embedder.features import FeatureExtractor
from vidstyle.embedder.train_style_head import HeadTraining, drawing_on_none, render_training_frames


@dataclass(frozen=True)
class ContentHeadTraining:
    """Everything that decides the fitted head: same values → same projection."""

    groups: int = 96
    contents_per_group: int = 6
    looks_per_group: int = 8
    shrinkage: float = 0.1
    dim: int = 1024
    split: str = "train"
    exclude_families: tuple[str, ...] = ()  # left out (leave-one-family-out validation)
    composed_looks: int = 0  # per group, this many extra look instances composed of two training-family looks
    seed: int = 0

    def rendering(self) -> HeadTraining:
        return HeadTraining(groups=self.groups, contents_per_group=self.contents_per_group,
                            looks_per_group=self.looks_per_group, split=self.split, seed=self.seed,
                            composed_looks=self.composed_looks)

    def recorded(self) -> dict:
        """The settings as the head file records them; compositions only when used, so that a head fitted without
        them is the same file as before the option existed."""
        record = asdict(self)
        if self.composed_looks <= 0:
            del record["composed_looks"]
        return record


def scene_labels(groups: np.ndarray, contents_per_group: int) -> np.ndarray:
    """Each rendered frame's scene: the renderer writes a group's frames look by look (its composed looks after
    the others), its scenes in order."""
    labels = np.empty(len(groups), np.int64)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        labels[idx] = g * contents_per_group + np.arange(len(idx)) % contents_per_group
    return labels


def hand_content_vectors(fx: FeatureExtractor, frames: np.ndarray, batch: int = 64,
                         progress: bool = False) -> np.ndarray:
    """(n, D) float32: the hand-built content vectors of whole frames (no template to mask in a still)."""
    out = []
    for i in tqdm(range(0, len(frames), batch), desc="content pass", disable=not progress):
        out.append(fx.hand_content(frames[i : i + batch]).cpu().numpy().astype(np.float32))
    return np.concatenate(out)


def train_content_head(settings: Settings, out: Path, cfg: ContentHeadTraining = ContentHeadTraining(),
                       progress: bool = False) -> dict:
    """Render the training data, run the content pass, fit and save the head; returns the training record."""
    from vidstyle.backbones import load_backbone

    torch.manual_seed(cfg.seed)
    m = settings.model.model_copy(update={"style_head": None, "content_head": None, "style_representation": "stats"})
    fx = FeatureExtractor(load_backbone(m.backbone, m.weights_path), m)
    t0 = time.monotonic()
    data = render_training_frames(cfg.rendering(), m.input_size, progress)
    labels = scene_labels(data.groups, cfg.contents_per_group)
    keep = drawing_on_none(data, cfg.exclude_families)
    x = hand_content_vectors(fx, data.frames[keep], progress=progress)
    mean, projection = fit_projection(x, labels[keep], cfg.shrinkage, cfg.dim)
    head = ContentHead(mean, projection, fx.content_features())
    record = {"training": cfg.recorded(), "frames": int(keep.sum()), "scenes": int(len(np.unique(labels[keep]))),
              "looks": sorted({data.looks[i] for i in data.labels[keep]})}
    save_content_head(head, out, record)  # no timings in the file: the same command writes the same bytes
    return record | {"dim": head.out_dim, "seconds": round(time.monotonic() - t0, 1)}
