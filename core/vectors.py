"""Vector helpers shared by the stages: unit-normalising rows (cosine = inner product)."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def unit(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """`x` scaled to unit L2 norm along `axis`; zero vectors stay zero. Keeps the dtype of a float input."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), EPS)


QUERY_EXPANSION_ALPHA = 3.0
"""α of `expand_query`: the value of Radenović, Tolias and Chum (2018), taken as is, not chosen here."""


def expand_query(query: np.ndarray, neighbours: np.ndarray, similarities: np.ndarray,
                 alpha: float = QUERY_EXPANSION_ALPHA) -> np.ndarray:
    """α query expansion: unit(q + Σᵢ max(sᵢ, 0)^α xᵢ) over the query's nearest neighbours xᵢ (rows of `neighbours`,
    unit) with similarities sᵢ = q·xᵢ.

    Averaging neighbours of several subjects keeps what they share and thins what each brings: in the style space,
    the look over the subject. α lets the closest neighbours count most, so a look with few other videos in the
    catalogue is not averaged with other looks. With no neighbours it is unit(q).
    """
    weights = np.maximum(np.asarray(similarities, np.float64), 0) ** alpha
    rows = np.asarray(neighbours, np.float64).reshape(len(weights), -1)
    return unit(np.asarray(query, np.float64).ravel() + weights @ rows)
