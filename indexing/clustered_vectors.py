"""Clustered vectors for the index tests and benchmarks: clustered, anisotropic, unit-norm, like real ones.

Uniform random vectors make every ANN index look bad (no structure) and trivially clustered ones make every
index look perfect. Real image/video embeddings sit near a low-dimensional subspace, in clusters of very
uneven size, with a decaying spectrum, plus isotropic noise; this generator mimics that, in float32 chunks
so that 1M x 1920 fits in memory. Write them as an EMB_DIR with `vidstyle.embedder.dataset.write_vectors`.
"""

from __future__ import annotations

import numpy as np


class ClusteredGenerator:
    """Draws unit vectors from one fixed mixture, so base vectors and queries share the distribution."""

    def __init__(
        self,
        dim: int,
        *,
        n_clusters: int = 1000,
        intrinsic_dim: int = 48,
        cluster_spread: float = 0.55,
        noise: float = 0.35,
        seed: int = 0,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.intrinsic_dim = min(intrinsic_dim, dim)
        # Decaying spectrum inside the subspace: a few directions carry most of the variance.
        self.scales = (1.0 + np.arange(self.intrinsic_dim)) ** -0.5
        self.centers = rng.standard_normal((n_clusters, self.intrinsic_dim)) * self.scales
        # Cluster sizes follow a long-tailed law (a few big genres, many small ones).
        weights = rng.pareto(1.2, n_clusters) + 0.05
        self.weights = weights / weights.sum()
        basis, _ = np.linalg.qr(rng.standard_normal((dim, self.intrinsic_dim)))
        self.basis = basis.T.astype(np.float32)  # (intrinsic_dim, dim), orthonormal rows
        self.cluster_spread = cluster_spread
        self.noise = noise

    def sample(self, n: int, seed: int, chunk: int = 65_536) -> np.ndarray:
        """`n` unit vectors (float32, C-contiguous); `seed` picks the draw, not the mixture."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            which = rng.choice(len(self.weights), size=m, p=self.weights)
            latent = self.centers[which] + self.cluster_spread * self.scales * rng.standard_normal(
                (m, self.intrinsic_dim)
            )
            block = latent.astype(np.float32) @ self.basis
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            block *= 1.0 / norms
            noise = rng.standard_normal((m, self.dim), dtype=np.float32)
            noise *= self.noise / np.sqrt(self.dim)
            block += noise
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            out[start : start + m] = block
        return out


def clustered_unit_vectors(n: int, dim: int, seed: int = 0, **kwargs: float) -> np.ndarray:
    """Shortcut: `n` vectors from a fresh mixture seeded by `seed`."""
    return ClusteredGenerator(dim, seed=seed, **kwargs).sample(n, seed=seed + 1)  # type: ignore[arg-type]
