"""The "similar but not the same" ranking behind `GET /v1/videos/{id}/recommend` (docs/recommend.md).

`Blend` holds the rule's parameters (weights, drop thresholds, how many candidates); `rank` is the whole rule as a
pure function over scores (and, when given, a copy check per candidate), so it can be tested alone and reused by
anything that must rank exactly as the API does: the API, `vidstyle neighbours --space recommend` and `vidstyle
eval-recommend` all go through it. `recommend` feeds it from an `IndexSet`.

Two rules drop a candidate whatever its scores: a copy of the query (`vidstyle.embedder.copies`: its keyframes
align in order with the query's; the score normalised by both videos' scores against a background set of other
footage, `vidstyle.embedder.copy_background`) and, as before, a content score above `near_duplicate`. Copy checks cost a
keyframe alignment each, so they run lazily, best blended candidate first, until `k` survive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vidstyle.core.settings import ServeSettings
from vidstyle.core.vectors import unit
from vidstyle.embedder.copies import CopyCheck, DescriptorLookup, match
from vidstyle.embedder.copy_background import BackgroundLookup, normalised
from vidstyle.indexing.index_set import IndexSet

DROP_COPY = "copy"
DROP_CONTENT = "near_duplicate_content"


@dataclass(frozen=True)
class Ranked:
    video_id: str
    score: float  # the blend
    style_score: float
    content_score: float
    copy_score: float | None = None  # the copy check's score when one ran; None when none did or it was unknown


@dataclass(frozen=True)
class Dropped:
    """A candidate left out whatever its scores, and why (`DROP_COPY` or `DROP_CONTENT`)."""

    video_id: str
    reason: str
    score: float
    style_score: float
    content_score: float
    copy_score: float | None = None


@dataclass(frozen=True)
class Ranking:
    results: list[Ranked]
    dropped: list[Dropped] = field(default_factory=list)  # best blended first; copy checks stop at k results


@dataclass(frozen=True)
class Blend:
    """The `recommend` ranking's parameters (docs/recommend.md); the API's defaults are `serve.*` settings.

    Candidates are the `candidates` nearest in style; each is scored `style_weight · style + content_weight · content`;
    one whose content score is above `near_duplicate`, or whose copy score against the query reaches `copy_threshold`
    (above 1: no copy check), is dropped whatever its score. `copy_background_weight` is β of the normalised copy
    score the threshold applies to (`vidstyle.embedder.copy_background.normalised`; 0: the raw score).
    `style_expansion` > 0: the query's style vector is first expanded over its nearest this many style neighbours
    (`core.vectors.expand_query`), and candidates and style scores are the expanded query's.
    """

    style_weight: float
    content_weight: float
    near_duplicate: float
    candidates: int = 100
    copy_threshold: float = 2.0
    copy_background_weight: float = 0.0
    style_expansion: int = 0

    @classmethod
    def from_settings(cls, serve: ServeSettings) -> Blend:
        """The blend `GET /v1/videos/{id}/recommend` uses when a request sets none of its parameters."""
        return cls(serve.recommend_style_weight, serve.recommend_content_weight, serve.near_duplicate_content,
                   min(serve.recommend_candidates, serve.max_k), serve.copy_threshold, serve.copy_background_weight,
                   serve.recommend_style_expansion)

    @property
    def checks_copies(self) -> bool:
        return self.copy_threshold <= 1

    def as_dict(self) -> dict[str, float | int]:
        """The parameters under the names the API's `ranking` and `eval-recommend`'s rules report them by (the
        content threshold as `near_duplicate_content`, its `serve.*` setting's name)."""
        return {"style_weight": self.style_weight, "content_weight": self.content_weight,
                "near_duplicate_content": self.near_duplicate, "copy_threshold": self.copy_threshold,
                "candidates": self.candidates, "copy_background_weight": self.copy_background_weight,
                "style_expansion": self.style_expansion}


@dataclass(frozen=True)
class CopyLookups:
    """What the copy check reads (`vidstyle.embedder.copies`): each video's stored keyframe descriptors and, for the
    normalised score, its background score (`vidstyle.embedder.copy_background`)."""

    descriptors: DescriptorLookup
    backgrounds: BackgroundLookup | None = None

    def checker(self, query_id: str, background_weight: float = 0.0) -> Callable[[str], CopyCheck]:
        """A per-candidate check against `query_id`'s stored descriptors (looked up once). With `background_weight`
        above 0 (and background scores), the score is the normalised one: a video that scores high against all
        footage (a nearly blank or grid-covered frame) needs a higher raw score to be a copy, one that scores low
        against all footage less."""
        query = self.descriptors([query_id]).get(query_id)
        if self.backgrounds is None or background_weight == 0:
            return lambda candidate: match(query, self.descriptors([candidate]).get(candidate))
        backgrounds = self.backgrounds
        query_bg = backgrounds([query_id]).get(query_id)

        def check(candidate: str) -> CopyCheck:
            raw = match(query, self.descriptors([candidate]).get(candidate))
            score = normalised(raw.score, query_bg, backgrounds([candidate]).get(candidate), background_weight)
            return dataclasses.replace(raw, score=score)

        return check


def rank_explained(
    pool: Sequence[tuple[str, float]],
    content_scores: np.ndarray,
    k: int,
    blend: Blend,
    copy_check: Callable[[str], CopyCheck] | None = None,
) -> Ranking:
    """`rank`, keeping the dropped candidates and their reasons (the API's `explain=1`)."""
    blended = [(vid, blend.style_weight * s + blend.content_weight * float(c), s, float(c))
               for (vid, s), c in zip(pool, np.asarray(content_scores).tolist())]
    blended.sort(key=lambda r: r[1], reverse=True)  # stable: ties keep the pool's order
    results: list[Ranked] = []
    dropped: list[Dropped] = []
    for vid, score, s, c in blended:
        if c > blend.near_duplicate:
            dropped.append(Dropped(vid, DROP_CONTENT, score, s, c))
            continue
        if len(results) >= k:
            continue
        check = copy_check(vid) if copy_check is not None and blend.checks_copies else None
        copy_score = check.score if check is not None else None
        if check is not None and check.is_copy(blend.copy_threshold):
            dropped.append(Dropped(vid, DROP_COPY, score, s, c, copy_score))
            continue
        results.append(Ranked(vid, score, s, c, copy_score))
    return Ranking(results, dropped)


def rank(
    pool: Sequence[tuple[str, float]],
    content_scores: np.ndarray,
    k: int,
    blend: Blend,
    copy_check: Callable[[str], CopyCheck] | None = None,
) -> list[Ranked]:
    """Drop copies and content near-duplicates, re-rank the rest by the blend, keep `k`.

    `pool` is (video_id, style score) per candidate; `content_scores[i]` is candidate i's content similarity
    to the query; candidates above `blend.near_duplicate` go. `copy_check(video_id)` (when given, and the blend
    checks copies) scores a candidate as a copy of the query; those at or above `blend.copy_threshold` go too. Ties
    keep the pool's order (stable sort).
    """
    return rank_explained(pool, content_scores, k, blend, copy_check).results


def recommend_explained(index: IndexSet, video_id: str, k: int, blend: Blend,
                        copies: CopyLookups | None = None) -> Ranking:
    """`rank_explained` over the `max(blend.candidates, k)` style neighbours of a stored video (UnknownVideoError if
    absent), with copies of it dropped when `copies` is given and the blend checks copies.

    The neighbours and their content vectors come from one snapshot of the index, so a video deleted while
    this runs is either ranked with its vectors or not a candidate at all.
    """
    found = index.search_id_with_vectors(video_id, "style", max(blend.candidates, k), "content",
                                         expansion=blend.style_expansion)
    if not found.neighbours:
        return Ranking([])
    query = unit(np.asarray(found.query, np.float32).ravel())
    cands = unit(np.asarray(found.vectors, np.float32))
    return rank_explained(found.neighbours, cands @ query, k, blend, _checker(copies, video_id, blend))


def recommend(index: IndexSet, video_id: str, k: int, blend: Blend,
              copies: CopyLookups | None = None) -> list[Ranked]:
    """The results of `recommend_explained`."""
    return recommend_explained(index, video_id, k, blend, copies).results


def recommend_many(index: IndexSet, video_ids: Sequence[str], k: int, blend: Blend,
                   copies: CopyLookups | None = None) -> list[list[Ranked]]:
    """`recommend` for many stored videos with batched searches; the same lists, one per video.

    For offline jobs on an index nobody writes to meanwhile (the API's `recommend` reads one snapshot per
    request instead).
    """
    pools = index.search_ids(video_ids, "style", max(blend.candidates, k), expansion=blend.style_expansion)
    queries = unit(np.asarray(index.vectors(video_ids, "content"), np.float32))
    ranked = []
    for query_id, query, pool in zip(video_ids, queries, pools):
        if not pool:
            ranked.append([])
            continue
        cands = unit(np.asarray(index.vectors([vid for vid, _ in pool], "content"), np.float32))
        ranked.append(rank(pool, cands @ query, k, blend, _checker(copies, query_id, blend)))
    return ranked


def _checker(copies: CopyLookups | None, query_id: str, blend: Blend) -> Callable[[str], CopyCheck] | None:
    if copies is None or not blend.checks_copies:
        return None
    return copies.checker(query_id, blend.copy_background_weight)
