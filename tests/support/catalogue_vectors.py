"""A small catalogue of clustered vectors for the index tests, and a saved INDEX_DIR of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors

DIMS = {"style": 24, "content": 16}
N = 1200


def catalogue(n: int = N, seed: int = 0) -> tuple[list[str], dict[str, np.ndarray]]:
    vectors = {s: clustered_unit_vectors(n, d, seed=seed + i, n_clusters=20) for i, (s, d) in enumerate(DIMS.items())}
    return [f"v{i}" for i in range(n)], vectors


def saved_index(tmp_path: Path, kind: str = "flat") -> tuple[Path, list[str], dict[str, np.ndarray]]:
    names, vectors = catalogue()
    index_dir = tmp_path / "index"
    IndexSet.from_vectors("fp", names, vectors, IndexSettings(index_type=kind, nprobe=64)).save(index_dir)
    return index_dir, names, vectors


def rows(vectors: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    return {s: v[i : i + 1] for s, v in vectors.items()}


def top(index_set: IndexSet, query: np.ndarray, space: str = "style", k: int = 1) -> list[str]:
    return [v for v, _ in index_set.search(query, space, k)]
