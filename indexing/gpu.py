"""GPU mirrors of CPU indexes, for search only.

The CPU index stays the source of truth (it is what is saved and what updates apply to); after each
update the mirror is rebuilt from it. Only Flat and IVF types have GPU implementations; HNSW stays on the
CPU. faiss GPU search handles k <= 2048, so larger k goes to the CPU copy. GPU indexes are not safe to
search from several threads at once, hence the lock.
"""

from __future__ import annotations

import logging
import threading

import faiss
import numpy as np

log = logging.getLogger(__name__)

GPU_MAX_K = 2048
GPU_KINDS = ("flat", "ivf_flat", "ivf_pq")


def gpu_count() -> int:
    """GPUs faiss can use; 0 with faiss-cpu."""
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0


def gpu_allowed(k: int) -> bool:
    """Whether a top-`k` search may run on the GPU mirror."""
    return 0 < k <= GPU_MAX_K


class GpuMirror:
    """A search-only copy of a CPU index on all visible GPUs (replicated)."""

    def __init__(self, index: faiss.Index, nprobe: int | None) -> None:
        self.index = faiss.index_cpu_to_all_gpus(index)
        if nprobe is not None:
            # The mirror is private to us: configure it once instead of passing params per query
            # (replicated GPU indexes reject per-query SearchParameters).
            faiss.GpuParameterSpace().set_index_parameter(self.index, "nprobe", nprobe)
        self._lock = threading.Lock()

    @classmethod
    def create(cls, index: faiss.Index, kind: str, nprobe: int | None, use_gpu: bool) -> GpuMirror | None:
        """A mirror when GPUs are wanted, present and support `kind`; None otherwise (search stays on CPU)."""
        if not use_gpu or kind not in GPU_KINDS or gpu_count() == 0:
            return None
        try:
            return cls(index, nprobe)
        except (RuntimeError, AttributeError) as exc:  # e.g. a PQ code size the GPU kernels lack
            log.warning("GPU copy of the %s index failed, searching on the CPU: %s", kind, exc)
            return None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            return self.index.search(queries, k)


def gpu_clustering_index(dim: int) -> faiss.Index | None:
    """A GPU flat index for k-means assignment during IVF training, or None without GPUs."""
    if gpu_count() == 0:
        return None
    try:
        return faiss.index_cpu_to_all_gpus(faiss.IndexFlatIP(dim))
    except (RuntimeError, AttributeError) as exc:
        log.warning("GPU k-means unavailable, training on the CPU: %s", exc)
        return None
