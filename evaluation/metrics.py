"""Metric definitions shared by `vidstyle eval`, `vidstyle eval-retrieval` and the quality sweep.

Similarity is cosine similarity everywhere (the indexes search normalised vectors by inner product).

Triplets (docs/CONTRACT.md): A and C share style, B and C share content.
- right on style   ⇔ sim_style(A, C)   > sim_style(B, C)
- right on content ⇔ sim_content(B, C) > sim_content(A, C)
Ties count as wrong: a representation that cannot tell the two apart has not got the triplet right.

Retrieval: every item is a query against all *other* items; its relevant set is the other items with the same
label. Queries whose label no other item shares have no relevant set and are left out of both metrics.
- recall@k: the fraction of queries with at least one relevant item among their k nearest neighbours (the
  "Recall@K" of the metric-learning literature, e.g. Song et al. 2016). It answers the product question "does a
  user see at least one right neighbour in the first k results?".
- mAP: the mean over queries of average precision over the whole ranking, AP = (1/R) Σ_{r: item r relevant}
  precision@r with R the size of the relevant set. It rewards ranking *all* relevant items early.
Ranking is by decreasing similarity; ties are broken by item order (stable), so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidstyle.core.vectors import unit


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float64 for exact comparisons."""
    return unit(np.asarray(x, np.float64))


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cos(a_i, b_i) for each row i."""
    return (normalise_rows(a) * normalise_rows(b)).sum(-1)


@dataclass(frozen=True)
class TripletSims:
    """Per-triplet similarities in one space: sim(A, C) and sim(B, C)."""

    ac: np.ndarray
    bc: np.ndarray

    @classmethod
    def from_vectors(cls, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> TripletSims:
        return cls(rowwise_cosine(a, c), rowwise_cosine(b, c))

    def style_right(self) -> np.ndarray:
        return self.ac > self.bc

    def content_right(self) -> np.ndarray:
        return self.bc > self.ac


def accuracy(right: np.ndarray) -> float:
    """Fraction of True; 0.0 for no triplets (nothing was shown to be right)."""
    right = np.asarray(right, bool)
    return float(right.mean()) if right.size else 0.0


def triplet_summary(style: TripletSims, content: TripletSims) -> dict[str, float | int]:
    """The per-group keys of `vidstyle eval --json`: n, style_accuracy, content_accuracy, both_accuracy."""
    s, c = style.style_right(), content.content_right()
    return {"n": int(s.size), "style_accuracy": accuracy(s), "content_accuracy": accuracy(c),
            "both_accuracy": accuracy(s & c)}


def rankings(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the other rows ordered best first, and their similarities: (n, n-1) each."""
    x = normalise_rows(vectors)
    sims = x @ x.T
    n = len(x)
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, : max(n - 1, 0)]
    return order, np.take_along_axis(sims, order, axis=1)


def recall_at_k(relevant: np.ndarray, k: int) -> float:
    """relevant: (queries, ranked) bool, best first. Fraction of queries with a relevant item in the top k."""
    if relevant.shape[0] == 0:
        return 0.0
    return float(relevant[:, :k].any(axis=1).mean())


def average_precision(relevant_row: np.ndarray) -> float:
    """AP of one ranking (bool, best first) against all its relevant items; 0.0 when none is relevant."""
    hits = np.asarray(relevant_row, bool)
    total = hits.sum()
    if total == 0:
        return 0.0
    ranks = np.flatnonzero(hits) + 1
    return float((np.arange(1, total + 1) / ranks).mean())


def mean_average_precision(relevant: np.ndarray) -> float:
    return float(np.mean([average_precision(r) for r in relevant])) if relevant.shape[0] else 0.0


def relevance(order: np.ndarray, labels: Sequence[object]) -> np.ndarray:
    """relevant[q, r] = the r-th neighbour of query q has q's label; rows of queries with no relevant item dropped."""
    lab = np.asarray([str(v) for v in labels])
    rel = lab[order] == lab[:, None]
    return rel[rel.any(axis=1)]


def retrieval_scores(vectors: np.ndarray, labels: Sequence[object], k: int) -> dict[str, float]:
    """recall@k and mAP of `vectors` against `labels` (definitions in the module docstring)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    order, _ = rankings(vectors)
    rel = relevance(order, labels)
    return {"recall_at_k": recall_at_k(rel, k), "map": mean_average_precision(rel), "queries": int(rel.shape[0])}
