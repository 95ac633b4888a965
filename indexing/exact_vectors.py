"""The float vectors behind a compressed index (IVF-SQ8, IVF-PQ), looked up by id to re-rank its candidates.

Why: one byte per dimension keeps a million 512-d vectors in ~0.5 GB, but its scores are approximate, and on
embeddings whose nearest neighbours lie within a few hundredths of cosine the order of the top few is then
partly wrong. Re-scoring the best few dozen candidates with the exact vectors restores it, and those vectors
need not be in memory: loaded from INDEX_DIR they are a read-only memory map (the OS pages in the rows a query
touches), and only the vectors added since the last save are held in memory.

Rows are kept sorted by id so that a lookup is a binary search (`np.searchsorted`) with no per-id table.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class ExactVectors:
    def __init__(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """`ids` ascending (int64), `rows[i]` the unit vector of `ids[i]` (an array or a read-only memmap)."""
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        # A plain view of a memmap: the same pages, without np.memmap's per-slice bookkeeping (~15 us a lookup).
        self.rows = np.asarray(rows) if isinstance(rows, np.memmap) else rows
        # Ids handed out in order and never deleted since the save form one run: a lookup is then a subtraction,
        # where a binary search over a million ids costs ~1 us a key in cache misses (50 keys per query).
        n = len(self.ids)
        self._first = int(self.ids[0]) if n and int(self.ids[-1]) - int(self.ids[0]) == n - 1 else None
        self.added: dict[int, np.ndarray] = {}  # since the file was written
        # File ids removed since the save (their rows stay in the file): never returned, even when the id is
        # stored again (its new row is in `added`). Sorted, for the same vectorised lookup as `ids`.
        self._stale = np.empty(0, np.int64)

    @classmethod
    def from_vectors(cls, ids: np.ndarray, vectors: np.ndarray) -> ExactVectors:
        order = np.argsort(ids, kind="stable")
        if np.array_equal(order, np.arange(len(ids))):
            return cls(ids, vectors)  # already sorted (a fresh build): no copy
        return cls(ids[order], vectors[order])

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        for i, row in zip(ids.tolist(), vectors):
            self.added[i] = np.array(row, dtype=np.float32)

    def discard(self, ids: Iterable[int]) -> None:
        """Forget the vectors of removed ids (rows in the file stay there, unused, until the next save)."""
        ids = np.fromiter((int(i) for i in ids), dtype=np.int64)
        for i in ids.tolist():
            self.added.pop(i, None)
        in_file = ids[self._in_file(ids)[0]]
        if len(in_file):
            self._stale = np.union1d(self._stale, in_file)

    def _in_file(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of `ids` have a current row in the file, and each one's row position there."""
        n = len(self.ids)
        if self._first is not None:
            pos = ids - self._first
            in_file = (pos >= 0) & (pos < n)
        else:
            pos = np.searchsorted(self.ids, ids)
            in_file = (pos < n) & (self.ids[np.minimum(pos, n - 1)] == ids) if n else np.zeros(len(ids), bool)
        if len(self._stale):
            at = np.minimum(np.searchsorted(self._stale, ids), len(self._stale) - 1)
            in_file &= self._stale[at] != ids
        return in_file, pos

    def get(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of `ids` (each must be stored), one row each."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        if not len(ids):
            return out
        in_file, pos = self._in_file(ids)
        if in_file.any():
            out[in_file] = self.rows[pos[in_file]]
        for r in np.flatnonzero(~in_file):
            row = self.added.get(int(ids[r]))
            if row is None:
                raise KeyError(f"no exact vector for id {int(ids[r])}")
            out[r] = row
        return out

    def rerank(self, queries: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact scores of each query's candidate `labels` (-1 = none), the best `k` first."""
        scores = np.full(labels.shape, -np.inf, dtype=np.float32)
        for r in range(len(queries)):
            valid = labels[r] >= 0
            if valid.any():
                scores[r, valid] = self.get(labels[r, valid]) @ queries[r]
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        top_scores = np.take_along_axis(scores, order, axis=1)
        top_labels = np.where(np.isfinite(top_scores), np.take_along_axis(labels, order, axis=1), -1)
        return np.where(np.isfinite(top_scores), top_scores, -np.inf).astype(np.float32), top_labels

    def rows_of(self, ids: np.ndarray, chunk: int = 65_536) -> Iterable[np.ndarray]:
        """The vectors of ascending `ids`, in chunks (a save streams them into a new file)."""
        for start in range(0, len(ids), chunk):
            yield self.get(ids[start : start + chunk])
