"""Where the picture is: the moving region of a video framed by a static template, from pixels alone.

Kept apart from the network code (no torch) because the copy descriptor and the decode side need it too, and a
command that only reads stored rows should not pay for importing torch.
"""

from __future__ import annotations

import cv2
import numpy as np


def _small_gray(frames: np.ndarray, grid: int) -> np.ndarray:
    """(n, grid, grid) float32 luminance; area averaging also averages away grain and compression noise."""
    return np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (grid, grid), interpolation=cv2.INTER_AREA)
                     for f in frames]).astype(np.float32)


def moving_region_weights(frames: np.ndarray, grid: int = 28, threshold: float = 2.0, min_static: float = 0.2,
                          min_band: float = 0.08, min_part: float = 0.02) -> np.ndarray | None:
    """Weight map (grid x grid): 1 on the rectangle holding what moves across the video's frames, 0 outside.

    Static templates (three-panel layouts, letterbox and pillarbox bars, frames, banners around the picture)
    otherwise dominate a whole-frame content vector and make unrelated videos in the same template look like
    near-duplicates. A cell moves when its luminance varies over time by more than `threshold` (std on the
    0-255 scale, after area-averaging, which also averages grain and compression noise away). Moving cells are
    closed into regions; regions under `min_part` of the frame (a blinking icon) are ignored, and the mask is
    the bounding box of the rest: a content panel has flat parts (sky, walls) that barely change under a slow
    pan, and the box keeps them.

    The box counts as a template only if static bands lie on two opposite sides of it (above and below, or left
    and right, each at least `min_band` of the frame) and cover at least `min_static` of it: a picture framed
    by a layout. A flat sky above a panning shot leaves a band on one side only and is left alone.
    Returns None when masking does not apply: a single frame, a still video, or no framing template.
    """
    if len(frames) < 2:
        return None
    moving = (_small_gray(frames, grid).std(axis=0) > threshold).astype(np.uint8)
    moving = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(moving, connectivity=8)
    parts = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_part * grid * grid]
    if not parts:
        return None
    keep = np.isin(labels, parts)
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    bands = np.array([top, grid - bottom, left, grid - right]) / grid
    framed = (bands[0] >= min_band and bands[1] >= min_band) or (bands[2] >= min_band and bands[3] >= min_band)
    box = np.zeros((grid, grid), np.float32)
    box[top:bottom, left:right] = 1.0
    if not framed or box.mean() > 1.0 - min_static:
        return None
    return box


def mask_box(weights: np.ndarray, size: int) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) in pixels of a `size` frame: the bounding box of weights > 0.5; None = whole."""
    on = weights > 0.5
    if on.all() or not on.any():
        return None
    g_h, g_w = weights.shape
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    return (rows[0] * size // g_h, (rows[-1] + 1) * size // g_h, cols[0] * size // g_w, (cols[-1] + 1) * size // g_w)


def refine_box(frames: np.ndarray, box: tuple[int, int, int, int], share: float = 0.5) -> tuple[int, int, int, int]:
    """`box` (top, bottom, left, right, from `mask_box`) with its edges moved in to the pixel: the box is found on a
    coarse grid, and a grid cell that straddles the picture's edge moves, so the box takes in up to a cell of the
    template around it. Rows (columns) at the box's edges whose mean temporal standard deviation (grey, full
    resolution, over the box's columns (rows)) is under `share` of the median over the box's rows (columns) are
    trimmed; at least one row and column always remain."""
    top, bottom, left, right = box
    grey = np.stack([cv2.cvtColor(f[top:bottom, left:right], cv2.COLOR_RGB2GRAY) for f in frames]).astype(np.float32)
    spread = grey.std(axis=0)

    def kept(profile: np.ndarray) -> tuple[int, int]:
        on = np.flatnonzero(profile >= share * np.median(profile))
        return (int(on[0]), int(on[-1]) + 1) if len(on) else (0, len(profile))

    (r0, r1), (c0, c1) = kept(spread.mean(axis=1)), kept(spread.mean(axis=0))
    return top + r0, top + r1, left + c0, left + c1


def panel_weights(frames: np.ndarray, weights: np.ndarray, share: float) -> np.ndarray:
    """A video's grid weights (`moving_region_weights`) as a weight per pixel of its (S, S) frames, the box refined
    to the pixel (`refine_box` at `share`): what `mask_box` then reads back as the refined box. uint8 (0 or 1): the
    embedder repeats it for every keyframe of a batch, so it is kept a quarter of float32's size."""
    size = frames.shape[1]
    out = np.zeros((size, size), np.uint8)
    box = mask_box(weights, size)
    if box is None:
        out[:] = 1
        return out
    top, bottom, left, right = refine_box(frames, box, share)
    out[top:bottom, left:right] = 1
    return out

