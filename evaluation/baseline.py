"""No-CNN baselines, so that every quality number has a floor measured on the same files in the same run.

- style: a joint RGB colour histogram (8 bins per channel), square-rooted (Hellinger), averaged over frames. A look
  that only changes the palette (sepia, duotone, thermal) is trivial for it; a look that changes texture with the
  same colours (grain, halftone, pencil) is not.
- content: an 8x8 RGB thumbnail with its mean removed (normalised cross-correlation), averaged over frames. It
  knows the rough layout of a picture and nothing about what is in it.
"""

from __future__ import annotations

import cv2
import numpy as np

HIST_BINS = 8
THUMB_SIDE = 8


def colour_histogram(frames: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """(n, S, S, 3) uint8 → (bins³,) mean over frames of the square-rooted, normalised joint histogram."""
    q = (frames.astype(np.int32) * bins) // 256
    codes = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    hists = np.stack([np.bincount(c.ravel(), minlength=bins**3) for c in codes]).astype(np.float64)
    hists /= hists.sum(axis=1, keepdims=True)
    return np.sqrt(hists).mean(axis=0)


def thumbnail(frames: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """(n, S, S, 3) uint8 → (side·side·3,) mean over frames of the zero-mean, unit-norm tiny image."""
    tiny = np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames]).astype(np.float64)
    flat = tiny.reshape(len(frames), -1)
    flat -= flat.mean(axis=1, keepdims=True)
    flat /= np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-9)
    return flat.mean(axis=0)


def baseline_vectors(frames: np.ndarray) -> dict[str, np.ndarray]:
    """The two baseline vectors of one decoded file, under the names the CNN vectors use."""
    return {"style": colour_histogram(frames), "content": thumbnail(frames)}
