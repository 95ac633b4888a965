"""Copy scores normalised against a background set of other footage (`vidstyle.embedder.copies`).

Some videos score high against everything: a nearly blank frame, a look that lays a static grid over the
footage, a plain backdrop; others score low against everything. One threshold over raw copy scores treats them
alike, so the first kind is dropped as a "copy" of unrelated videos and the second kind's copies slip through. As
in the similarity normalisation of the Video Similarity Challenge 2022 descriptor track, each video's score
against footage it cannot be a copy of tells how far its raw scores run high:

    bg(x)    = the mean of x's `K` highest copy scores against `Background`'s videos
    S'(a, b) = S(a, b) - beta * (bg(a) + bg(b)) / 2          (`normalised`; beta: `serve.copy_background_weight`)

K = 10 and beta = 1 were chosen on training data only (the copy benchmark's train split and a second training
selection set; bench/RESULTS.md, "Copies apart from related content").

The background is packaged data (`embedder/heads/copy_background.npy`): the stored copy descriptors of 90 videos
of the copy benchmark's training generator (training seed `BACKGROUND_SEED`, training edits, 12 looks of the
training look families; never test footage or held-out looks), written by `bench/make_copy_background.py`. bg(x)
costs 90 matches, so `embed` computes it once per video and stores it (`dataset.COPY_BACKGROUND_COLUMN`), with
the background's sha256 in the part, so a value computed against another background is never mixed in: it is
computed again on first use (`BackgroundScores`), as for datasets written before the column existed.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_write_bytes
from vidstyle.embedder.copies import EDGES, DescriptorLookup, Prepared, best_score, prepare
from vidstyle.embedder.packaged import packaged_file

K = 10  # background scores averaged (chosen on training data: bench/RESULTS.md)
FILE = "copy_background.npy"  # in the package's heads/ folder
BackgroundLookup = Callable[[Sequence[str]], Mapping[str, float | None]]
"""video ids → their background scores; None (or absent) for a video whose descriptors are unknown."""


class CopyBackgroundError(VidstyleError, ValueError):
    """The packaged background set is missing or unreadable (a broken install)."""


@dataclass(frozen=True)
class Background:
    """The background set's videos, prepared for matching once, and the sha256 of the file they came from."""

    videos: tuple[Prepared, ...]
    sha256: str


def to_array(descriptors: Sequence[np.ndarray]) -> np.ndarray:
    """The stored form: (videos, most keyframes, DIM) float16, NaN rows past a shorter video's keyframes."""
    longest = max(len(d) for d in descriptors)
    out = np.full((len(descriptors), longest, descriptors[0].shape[1]), np.nan, np.float16)
    for i, d in enumerate(descriptors):
        out[i, : len(d)] = d
    return out


def from_array(stored: np.ndarray) -> list[np.ndarray]:
    """`to_array`'s inverse: each video's (n, DIM) float32 descriptors."""
    return [np.asarray(v[~np.isnan(v).any(axis=1)], np.float32) for v in stored]


def save(path: Path, descriptors: Sequence[np.ndarray]) -> str:
    """Write the background set (`np.save`: header and data only, so the same descriptors are the same bytes);
    returns its sha256."""
    buf = io.BytesIO()
    np.save(buf, to_array(descriptors), allow_pickle=False)
    atomic_write_bytes(Path(path), buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def load(path: Path) -> Background:
    try:
        raw = Path(path).read_bytes()
        stored = np.load(io.BytesIO(raw), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CopyBackgroundError(f"cannot read the copy background set {path}: {exc}") from exc
    videos = tuple(p for p in (prepare(d) for d in from_array(stored)) if p is not None)
    if len(videos) < K:
        raise CopyBackgroundError(f"the copy background set {path} holds {len(videos)} videos; it needs {K}")
    return Background(videos, hashlib.sha256(raw).hexdigest())


@functools.lru_cache(maxsize=1)
def packaged() -> Background:
    """The background set shipped with the package (loaded once per process)."""
    path = packaged_file(FILE)
    if path is None:
        raise CopyBackgroundError(f"the package's copy background set heads/{FILE} is missing (reinstall vidstyle, "
                                  "or regenerate it with bench/make_copy_background.py)")
    return load(path)


def background_score(descriptors: np.ndarray | None, background: Background | None = None,
                     edges: tuple[str, ...] = EDGES) -> float | None:
    """bg(x): the mean of the `K` highest copy scores of a video against the background set (the packaged one
    unless given), with `match`'s `edges`; None when its descriptors are unusable."""
    video = prepare(descriptors)
    if video is None:
        return None
    background = background or packaged()
    scores = np.array([best_score(video, other, edges) for other in background.videos])
    return float(np.sort(scores)[-K:].mean())


Score = TypeVar("Score", float, np.ndarray)


def normalised(score: Score | None, bg_a: Score | None, bg_b: Score | None, weight: float) -> Score | None:
    """S'(a, b) = S(a, b) - weight * (bg(a) + bg(b)) / 2, of scalars or arrays (NaN unknown); None when the score
    or either background is."""
    if score is None or bg_a is None or bg_b is None:
        return None
    return score - weight * (bg_a + bg_b) / 2


class BackgroundScores:
    """Background scores of stored videos: the stored ones (`stored`: only values computed against this process's
    background), and, for a video without one (a dataset embedded before the column existed, or against another
    background), computed from its stored descriptors on first use and kept for the life of this object."""

    def __init__(self, stored: BackgroundLookup, descriptors: DescriptorLookup,
                 background: Background | None = None) -> None:
        self._stored, self._descriptors, self._background = stored, descriptors, background
        self._computed: dict[str, float | None] = {}

    def __call__(self, video_ids: Sequence[str]) -> dict[str, float | None]:
        out = {v: s for v, s in self._stored(video_ids).items() if s is not None}
        missing = [v for v in video_ids if v not in out and v not in self._computed]
        if missing:
            for vid, desc in self._descriptors(missing).items():
                self._computed[vid] = background_score(desc, self._background)
        return {v: out[v] if v in out else self._computed.get(v) for v in video_ids}

    def forget(self, video_id: str) -> None:
        """Drop a computed score (the video was replaced or deleted)."""
        self._computed.pop(video_id, None)
