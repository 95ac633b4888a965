"""Is a candidate a copy of the query? Keyframe descriptors matched in temporal order.

Two videos are the same footage when many of their keyframes match *in order*: a re-graded, cropped, mirrored,
captioned, re-encoded, sped-up or re-framed copy keeps the sequence of its frames, while another shot of the
same subject matches a frame here and there at best. `match` scores that:

1. `S[i, j]`: the cosine of query keyframe i and candidate keyframe j (`vidstyle.embedder.copy_descriptor`), under
   one *hypothesis* of how the candidate was made from the query (or the query from the candidate): as is,
   mirrored, cropped (one of the descriptor's `WINDOWS` of one video against the whole of the other), or
   mirrored and cropped. Each cell of the two views counts by the product of the two videos' `overlay_weights`:
   a caption, logo or banner that stays put on one video is left out of both sides of the comparison. A copy is
   edited the same way throughout, so the hypothesis is chosen per video pair, never per frame: a per-frame
   choice would let every frame of unrelated footage pick its luckiest window.
2. The best order-preserving one-to-one alignment (dynamic programming, as in sequence alignment): pairs
   (i1 < i2 < ..., j1 < j2 < ...) maximising the sum of their similarities. Speed changes and trims only
   change which frames pair up, never their order.
3. The score is that sum, under the best hypothesis, divided by the number of frames of the shorter video: the
   mean similarity of its frames to their aligned partners. A copy scores high on every frame; different
   footage of one subject has only a few good pairs, so its mean stays low.

`score >= threshold` (`serve.copy_threshold`, chosen on training copies, docs/recommend.md) makes a copy.
Descriptors unknown (a dataset embedded before they existed, or by an earlier descriptor version) give no
verdict: `CopyCheck.unknown`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vidstyle.embedder.copy_descriptor import DIM, GRID, WINDOWS, cells, mirror, overlay_weights

_ROWS, _COLS = np.divmod(np.arange(GRID * GRID), GRID)
EDGE_BANDS: dict[str, np.ndarray] = {"top": _ROWS != 0, "bottom": _ROWS != GRID - 1, "left": _COLS != 0,
                                     "right": _COLS != GRID - 1}
"""The edge bands `match(edges=...)` may leave out of both views, one at a time (a caption, a subtitle, a title bar,
a side banner): the cells of the `GRID` x `GRID` view each keeps."""
EDGES: tuple[str, ...] = ()
"""`match`'s default `edges`: none. Measured and not kept (bench/RESULTS.md, "Edge-band hypotheses"): training
data has no edge overlays, and the extra hypotheses cost more than the rule allowed there (train µAP -0.007 with
all four bands, -0.0055 with top and bottom), although held-out captions gain. A default that changes the
scores would also change every stored background score while the background file's sha256, which the parts record,
stays the same (`copy_background`): it has to change that key too."""

DescriptorLookup = Callable[[Sequence[str]], Mapping[str, np.ndarray | None]]
"""video ids → their (n_keyframes, DIM) descriptors; None (or absent) for a video with none stored."""


@dataclass(frozen=True)
class CopyCheck:
    score: float | None  # mean aligned keyframe similarity; None when either side has no descriptors
    frames: int  # keyframe pairs aligned
    mirrored: bool  # the best alignment was with the candidate mirrored

    @property
    def unknown(self) -> bool:
        return self.score is None

    def is_copy(self, threshold: float) -> bool:
        return self.score is not None and self.score >= threshold


UNKNOWN = CopyCheck(None, 0, False)


def usable(descriptors: np.ndarray | None) -> np.ndarray | None:
    """The descriptors as (n, DIM) float32, or None when missing or of another shape (another version)."""
    if descriptors is None:
        return None
    d = np.asarray(descriptors, np.float32)
    if d.ndim != 2 or d.shape[1] != DIM or len(d) == 0:
        return None
    return d


class _Views:
    """One video's view cells (`copy_descriptor.cells`) and their weights (`overlay_weights`, or ones)."""

    def __init__(self, descriptors: np.ndarray, windows: tuple[tuple[float, float, float], ...],
                 overlays: bool) -> None:
        self.cells = cells(descriptors, windows)
        self.weights = overlay_weights(descriptors, windows) if overlays else np.ones(self.cells.shape[1:3],
                                                                                        np.float32)


def match(query: np.ndarray | None, candidate: np.ndarray | None, crops: bool = True, *,
          windows: tuple[tuple[float, float, float], ...] = WINDOWS, overlays: bool = True,
          edges: tuple[str, ...] = EDGES) -> CopyCheck:
    """How well `candidate`'s keyframes align, in order, with `query`'s (module docstring). `crops=False` tries
    the whole frames only (as is and mirrored): the plain matcher, kept as the benchmarks' baseline; `windows`
    and `overlays=False` give the earlier matchers, for the same comparison; `edges` names `EDGE_BANDS` to try
    leaving out, each composed with every other hypothesis (`_similarities`)."""
    q, c = prepare(query, windows, overlays), prepare(candidate, windows, overlays)
    if q is None or c is None:
        return UNKNOWN
    stacked = _hypotheses(q, c, crops, edges)
    best = int(np.argmax(_align_many(stacked)))
    total, pairs = _align(stacked[best])
    return CopyCheck(float(total / min(q.frames, c.frames)), pairs, best >= len(stacked) // 2)


def best_score(query: Prepared, candidate: Prepared, edges: tuple[str, ...] = EDGES) -> float:
    """`match(...).score` of two prepared videos, without tracing the alignment back: for scoring one video
    against many (`vidstyle.embedder.copy_background`), where each side's views are prepared once."""
    return float(_align_many(_hypotheses(query, candidate, True, edges)).max() / min(query.frames, candidate.frames))


def _hypotheses(q: Prepared, c: Prepared, crops: bool, edges: tuple[str, ...]) -> np.ndarray:
    """(h, n, m) keyframe similarities under every hypothesis: as is, then mirrored (module docstring)."""
    hypotheses = []
    for cx in (c.plain, c.mirrored):
        hypotheses.append(_similarities(q.plain, cx, slice(0, 1), slice(0, 1), edges))
        if crops:
            # the candidate a crop of the query, then the query a crop of the candidate
            hypotheses.append(_similarities(q.plain, cx, slice(1, None), slice(0, 1), edges))
            hypotheses.append(_similarities(q.plain, cx, slice(0, 1), slice(1, None), edges))
    return np.concatenate(hypotheses)


@dataclass(frozen=True)
class Prepared:
    """One video's views as is and mirrored, computed once: what `match` needs of each side."""

    plain: _Views
    mirrored: _Views
    frames: int


def prepare(descriptors: np.ndarray | None, windows: tuple[tuple[float, float, float], ...] = WINDOWS,
            overlays: bool = True) -> Prepared | None:
    """The views `match` compares, or None when the descriptors are unusable (`usable`)."""
    d = usable(descriptors)
    if d is None:
        return None
    return Prepared(_Views(d, windows, overlays), _Views(mirror(d), windows, overlays), len(d))


def _similarities(q: _Views, c: _Views, q_views: slice, c_views: slice, edges: tuple[str, ...] = ()
                  ) -> np.ndarray:
    """(h, n, m): the cosine of every query keyframe with every candidate keyframe, for each pairing of a query
    view with a candidate view (one side's slice holds a single view, the other's one or more), both weighted by
    the product of the two videos' cell weights, so a cell static in either (an overlay) counts little in both.

    `edges`: each pairing also with each named band of `EDGE_BANDS` left out of both views, the kept cells centred
    again over themselves as `cells` centres a whole view, so each is the cosine of the kept part alone;
    (h * (1 + len(edges)), n, m), the whole view first, then the bands, innermost. The sums are taken once per
    cell and combined per band, so a band costs no second pass over the bins."""
    x, y = q.cells[:, q_views], c.cells[:, c_views]  # (n, hq, cells, bins), (m, hc, cells, bins)
    u2 = (q.weights[q_views][:, None] * c.weights[c_views][None]) ** 2  # (hq, hc, cells)
    if not edges:
        num = np.einsum("iqcd,jpcd,qpc->qpij", x, y, u2, optimize=True)
        nx = np.sqrt(np.einsum("iqcd,qpc->qpi", x * x, u2))
        ny = np.sqrt(np.einsum("jpcd,qpc->qpj", y * y, u2))
        sims = num / np.maximum(nx[..., :, None] * ny[..., None, :], 1e-12)
        return sims.reshape(-1, len(x), len(y))
    kept = np.stack([np.ones(GRID * GRID, bool), *(EDGE_BANDS[e] for e in edges)], axis=1).astype(np.float64)
    x, y, u2 = x.astype(np.float64), y.astype(np.float64), u2.astype(np.float64)  # the sums below cancel
    bins = x.shape[-1]
    sx, sy = x.sum(-1), y.sum(-1)  # (n, hq, cells), (m, hc, cells)
    a = np.einsum("iqc,ce->qei", sx, kept) / (kept.sum(0)[:, None] * bins)  # kept part's mean, (hq, bands, n)
    b = np.einsum("jpc,ce->pej", sy, kept) / (kept.sum(0)[:, None] * bins)
    w = u2[..., None] * kept  # (hq, hc, cells, bands)
    dot = np.einsum("iqcd,jpcd->qpcij", x, y, optimize=True)  # per-cell dot products
    num = np.einsum("qpcij,qpce->qpeij", dot, w, optimize=True)
    wx, wy = np.einsum("iqc,qpce->qpei", sx, w), np.einsum("jpc,qpce->qpej", sy, w)
    wxx, wyy = np.einsum("iqc,qpce->qpei", (x * x).sum(-1), w), np.einsum("jpc,qpce->qpej", (y * y).sum(-1), w)
    total = w.sum(2)[..., None] * bins  # (hq, hc, bands, 1): the kept bins' weights
    a, b = a[:, None], b[None]  # (hq, 1, bands, n), (1, hc, bands, m)
    num = num - a[..., :, None] * wy[..., None, :] - b[..., None, :] * wx[..., :, None] + (
        a[..., :, None] * b[..., None, :]) * total[..., None]
    ex, ey = wxx - 2 * a * wx + a * a * total, wyy - 2 * b * wy + b * b * total  # the kept parts' centred energy
    # A kept part that is flat (nothing left once centred: a plain backdrop) has no direction to compare: 0, as a
    # flat whole view gets; the test on what is left keeps rounding noise from being divided by rounding noise.
    nx = np.where(ex > 1e-9 * wxx + 1e-12, np.sqrt(np.maximum(ex, 0)), np.inf)
    ny = np.where(ey > 1e-9 * wyy + 1e-12, np.sqrt(np.maximum(ey, 0)), np.inf)
    sims = np.clip(num / (nx[..., :, None] * ny[..., None, :]), -1, 1).astype(np.float32)
    return sims.reshape(-1, len(x), len(y))


def _align_many(sims: np.ndarray) -> np.ndarray:
    """`_align`'s sum for each of a stack of (n, m) similarity matrices at once, a row at a time: within a row,
    best[i, j] = max(best[i - 1, j - 1] + gain, best[i - 1, j], best[i, j - 1]) is a running maximum along j."""
    gain = np.maximum(sims, 0.0)
    h, n, m = gain.shape
    row = np.zeros((h, m + 1))
    for i in range(n):
        take = np.maximum(row[:, :-1] + gain[:, i], row[:, 1:])
        row = np.concatenate([np.zeros((h, 1)), np.maximum.accumulate(take, axis=1)], axis=1)
    return row[:, m]


def _align(sims: np.ndarray) -> tuple[float, int]:
    """Largest sum of similarities over order-preserving one-to-one pairs; (sum, pairs). Only positive
    similarities are worth pairing, so unrelated frames add nothing rather than pulling the sum down."""
    gain = np.maximum(sims, 0.0).tolist()
    m = len(gain[0])
    prev = [(0.0, 0)] * (m + 1)
    for g in gain:
        cur = [(0.0, 0)]
        for j in range(m):
            take = (prev[j][0] + g[j], prev[j][1] + (g[j] > 0))
            cur.append(max(take, prev[j + 1], cur[j], key=lambda option: option[0]))
        prev = cur
    return prev[m]


def check_many(query: np.ndarray | None, candidates: Iterable[np.ndarray | None]) -> list[CopyCheck]:
    """`match` of one query against each candidate."""
    return [match(query, c) for c in candidates]
