"""No-CNN baselines, so that every quality number has a floor measured on the same files in the same run.

- style: a joint RGB colour histogram (8 bins per channel), square-rooted (Hellinger), averaged over frames. A look
  that only changes the palette (sepia, duotone, thermal) is trivial for it; a look that changes texture with the
  same colours (grain, halftone, pencil) is not.
- content: an 8x8 RGB thumbnail with its mean removed (normalised cross-correlation), averaged over frames. It
  knows the rough layout of a picture and nothing about what is in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vidstyle.core.settings import Settings
from vidstyle.core.vectors import unit
from vidstyle.embedder.features import colour_histogram as per_frame_histogram
from vidstyle.evaluation.metrics import TripletSims, retrieval_scores, triplet_summary
from vidstyle.evaluation.triplets import Labelled, Triplet
from vidstyle.media.decode import decode_file

HIST_BINS = 8
THUMB_SIDE = 8


def colour_histogram(frames: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """(n, S, S, 3) uint8 → (bins³,) mean over frames of the square-rooted, normalised joint histogram (the
    per-frame histogram the embedder adds to `style_stats`, here on its own)."""
    return per_frame_histogram(frames, bins).numpy().astype(np.float64).mean(axis=0)


def thumbnail(frames: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """(n, S, S, 3) uint8 → (side·side·3,) mean over frames of the zero-mean, unit-norm tiny image."""
    tiny = np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames]).astype(np.float64)
    flat = tiny.reshape(len(frames), -1)
    return unit(flat - flat.mean(axis=1, keepdims=True)).mean(axis=0)


def baseline_vectors(frames: np.ndarray) -> dict[str, np.ndarray]:
    """The two baseline vectors of one decoded file, under the names the CNN vectors use."""
    return {"style": colour_histogram(frames), "content": thumbnail(frames)}


def baseline_file_vectors(paths: Sequence[Path], settings: Settings) -> dict[Path, dict[str, np.ndarray]]:
    """Baseline vectors of each distinct file, decoded exactly as the embedder decodes it (same frames)."""
    d = settings.decode
    out = {}
    for p in dict.fromkeys(Path(p) for p in paths):
        frames = decode_file(p, settings.model.input_size, d.max_frames, d.min_gap_s, max_file_mb=d.max_file_mb).frames
        out[p] = baseline_vectors(frames)
    return out


def baseline_triplet_summary(triplets: Sequence[Triplet], settings: Settings) -> dict:
    """The `vidstyle eval --json` object for the baselines (no by_representation: there is one of each)."""
    vecs = baseline_file_vectors([p for t in triplets for p in t.paths], settings)

    def group(sel: Sequence[Triplet]) -> dict[str, float | int]:
        sims = {k: TripletSims.from_vectors(*(np.stack([vecs[getattr(t, c)][k] for t in sel]) for c in "abc"))
                for k in ("style", "content")}
        return triplet_summary(sims["style"], sims["content"])

    kinds = list(dict.fromkeys(t.kind for t in triplets))
    return {**group(triplets), "by_kind": {k: group([t for t in triplets if t.kind == k]) for k in kinds}}


def baseline_retrieval_summary(items: Sequence[Labelled], settings: Settings, k: int) -> dict:
    vecs = baseline_file_vectors([i.path for i in items], settings)
    s = retrieval_scores(np.stack([vecs[i.path]["style"] for i in items]), [i.style_id for i in items], k)
    c = retrieval_scores(np.stack([vecs[i.path]["content"] for i in items]), [i.content_id for i in items], k)
    return {"k": k, "style_recall_at_k": s["recall_at_k"], "content_recall_at_k": c["recall_at_k"],
            "style_map": s["map"], "content_map": c["map"]}
