"""The "similar but not the same" ranking behind `GET /v1/videos/{id}/recommend` (docs/recommend.md).

`rank` is the whole rule as a pure function over scores, so it can be tested alone and reused by anything that
must rank exactly as the API does; `recommend` feeds it from an `IndexSet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidstyle.core.vectors import unit
from vidstyle.indexing.index_set import IndexSet


@dataclass(frozen=True)
class Ranked:
    video_id: str
    score: float  # the blend
    style_score: float
    content_score: float


def rank(
    pool: Sequence[tuple[str, float]],
    content_scores: np.ndarray,
    k: int,
    style_weight: float,
    content_weight: float,
    near_duplicate: float,
) -> list[Ranked]:
    """Drop candidates whose content score exceeds `near_duplicate`, re-rank the rest by the blend, keep `k`.

    `pool` is (video_id, style score) per candidate; `content_scores[i]` is candidate i's content similarity
    to the query. Ties keep the pool's order (the sort is stable).
    """
    ranked = [
        Ranked(vid, style_weight * s + content_weight * float(c), s, float(c))
        for (vid, s), c in zip(pool, np.asarray(content_scores).tolist())
        if c <= near_duplicate
    ]
    ranked.sort(key=lambda r: r.score, reverse=True)
    return ranked[:k]


def recommend(
    index: IndexSet,
    video_id: str,
    k: int,
    style_weight: float,
    content_weight: float,
    near_duplicate: float,
    candidates: int,
) -> list[Ranked]:
    """`rank` over the `max(candidates, k)` style neighbours of a stored video (UnknownVideoError if absent).

    The neighbours and their content vectors come from one snapshot of the index, so a video deleted while
    this runs is either ranked with its vectors or not a candidate at all.
    """
    found = index.search_id_with_vectors(video_id, "style", max(candidates, k), "content")
    if not found.neighbours:
        return []
    query = unit(np.asarray(found.query, np.float32).ravel())
    cands = unit(np.asarray(found.vectors, np.float32))
    return rank(found.neighbours, cands @ query, k, style_weight, content_weight, near_duplicate)


def recommend_many(
    index: IndexSet,
    video_ids: Sequence[str],
    k: int,
    style_weight: float,
    content_weight: float,
    near_duplicate: float,
    candidates: int,
) -> list[list[Ranked]]:
    """`recommend` for many stored videos with batched searches; the same lists, one per video.

    For offline jobs on an index nobody writes to meanwhile (the API's `recommend` reads one snapshot per
    request instead).
    """
    pools = index.search_ids(video_ids, "style", max(candidates, k))
    queries = unit(np.asarray(index.vectors(video_ids, "content"), np.float32))
    ranked = []
    for query, pool in zip(queries, pools):
        if not pool:
            ranked.append([])
            continue
        cands = unit(np.asarray(index.vectors([vid for vid, _ in pool], "content"), np.float32))
        ranked.append(rank(pool, cands @ query, k, style_weight, content_weight, near_duplicate))
    return ranked
