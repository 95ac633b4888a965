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
