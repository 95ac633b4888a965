"""Recall@10 of each approximate index type against exact search, on 20k clustered synthetic vectors.

The data are deliberately not easy: a query's 10 nearest neighbours lie within ~0.02 cosine of each other
(see indexing/synthetic.py), as with real embeddings of a large catalogue.
"""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing.clustered_vectors import ClusteredGenerator
from vidstyle.indexing.space import SpaceIndex

N, DIM, QUERIES, K = 20_000, 64, 300, 10


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gen = ClusteredGenerator(DIM, seed=3)
    base, queries = gen.sample(N, seed=1), gen.sample(QUERIES, seed=2)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(base)
    _, truth = exact.search(queries, K)
    return base, queries, truth


def recall_at_k(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(g)) / K for t, g in zip(truth, got)]))


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(IndexSettings(index_type="ivf_flat"), id="ivf_flat"),
        pytest.param(IndexSettings(index_type="hnsw"), id="hnsw", marks=pytest.mark.slow),
        # The memory mode: one byte per dimension, the top candidates re-ranked with the float vectors.
        pytest.param(IndexSettings(index_type="ivf_sq8"), id="ivf_sq8"),
        # The default beyond exact search: half a byte per dimension (fast-scan), re-ranked the same way.
        pytest.param(IndexSettings(index_type="ivf_fastscan"), id="ivf_fastscan"),
        # One byte per dimension; a 5k training sample keeps this test to seconds (PQ k-means dominates).
        pytest.param(IndexSettings(index_type="ivf_pq", train_sample=5000), id="ivf_pq", marks=pytest.mark.slow),
    ],
)
def test_recall_at_10_against_exact(data, settings: IndexSettings) -> None:
    base, queries, truth = data
    ids = np.arange(N, dtype=np.int64) + 1_000  # ids that are not row numbers
    space = SpaceIndex.build(base, ids, settings)
    assert space.kind == settings.index_type
    _, got = space.search(queries, K)
    recall = recall_at_k(truth + 1_000, got)
    assert recall >= 0.95, f"{space.plan.description}: recall@10 {recall:.3f}"


def test_exact_is_exact(data) -> None:
    base, queries, truth = data
    space = SpaceIndex.build(base, np.arange(N, dtype=np.int64), IndexSettings(index_type="flat"))
    _, got = space.search(queries, K)
    assert recall_at_k(truth, got) == 1.0
