"""IndexSet: the style and the content index of one catalogue in memory, their shared id table, updates.

Ids: every video gets a fresh int64 id when added (re-adding a video retires its old id), shared by both
spaces, so one table maps ids to video ids for both.

Concurrency: searches share a readers-writer lock; `add`/`remove` take it exclusively for the short time
they apply, so a search sees the state before or after an update, never between. Writers are also
serialised by a separate mutex, which lets `save()` and HNSW compaction run without blocking searches.
Saving and loading INDEX_DIR is `vidstyle.indexing.persistence`.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.core.spaces import SPACES
from vidstyle.core.vectors import unit
from vidstyle.embedder.dataset import read_embeddings
from vidstyle.indexing import persistence
from vidstyle.indexing.errors import UnknownVideoError
from vidstyle.indexing.rwlock import RWLock
from vidstyle.indexing.space import SpaceIndex


def space_columns(settings: IndexSettings) -> dict[str, str]:
    """Which EMB_DIR column each space indexes."""
    return {"style": settings.style_column, "content": settings.content_column}


def unit_rows(matrix: np.ndarray, dim: int | None = None, what: str = "vectors") -> np.ndarray:
    """A float32 copy with L2-normalised rows (inner product = cosine); refuses wrong shapes and NaN/inf."""
    matrix = np.array(matrix, dtype=np.float32, ndmin=2, copy=True)
    if matrix.ndim != 2 or (dim is not None and matrix.shape[1] != dim):
        raise ValueError(f"{what} have shape {matrix.shape}, expected (n, {dim})")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return np.ascontiguousarray(unit(matrix), dtype=np.float32)


@dataclass(frozen=True)
class NeighbourVectors:
    """A stored video's neighbours in one space with the stored vectors of it and of them in another, all read
    from one state of the index, so a video deleted meanwhile cannot be a neighbour without a vector."""

    neighbours: list[tuple[str, float]]  # (video_id, score), best first, the video itself left out
    query: np.ndarray  # (dim,) the video's own vector in the other space
    vectors: np.ndarray  # (len(neighbours), dim) the neighbours' vectors in the other space, same order


class IndexSet:
    """Both indexes of a catalogue. Build with `from_embeddings`/`from_vectors`, or `load` a saved one."""

    def __init__(self, record: persistence.IndexRecord, saved: persistence.SavedFiles | None = None) -> None:
        self.fingerprint = record.fingerprint
        self.emb_dir = Path(record.emb_dir).resolve() if record.emb_dir is not None else None  # its dataset
        self.columns = dict(record.columns)
        self.created_at = record.created_at
        self._spaces = dict(record.spaces)
        self._id_of: dict[str, int] = dict(record.id_table)
        self._video_of: dict[int, str] = {i: v for v, i in self._id_of.items()}
        self._next_id = record.next_id
        self._saved = saved or persistence.SavedFiles()
        self._rw = RWLock()
        self._writer = threading.Lock()

    # ----------------------------------------------------------------------------------------- build
    @classmethod
    def from_embeddings(cls, emb_dir: Path, settings: IndexSettings) -> IndexSet:
        """Build both indexes from the ok rows of EMB_DIR (DatasetError when it cannot be used)."""
        columns = space_columns(settings)
        emb = read_embeddings(Path(emb_dir), columns)
        index_set = cls.from_vectors(emb.fingerprint, emb.video_ids, emb.vectors, settings, columns=columns)
        index_set.emb_dir = Path(emb_dir).resolve()
        return index_set

    @classmethod
    def from_vectors(
        cls,
        fingerprint: str,
        video_ids: list[str],
        vectors: Mapping[str, np.ndarray],
        settings: IndexSettings,
        *,
        columns: Mapping[str, str] | None = None,
    ) -> IndexSet:
        """Build both indexes from in-memory vectors (`vectors[space]`: (n, dim), normalised here)."""
        if len(set(video_ids)) != len(video_ids):
            raise ValueError("video_ids must be unique")
        ids = np.arange(len(video_ids), dtype=np.int64)
        spaces = {}
        for space in SPACES:
            matrix = unit_rows(vectors[space], what=f"{space} vectors")
            if len(matrix) != len(ids):
                raise ValueError(f"{len(matrix)} {space} vectors for {len(ids)} video ids")
            spaces[space] = SpaceIndex.build(matrix, ids, settings, label=space)
        record = persistence.IndexRecord(
            fingerprint=fingerprint,
            spaces=spaces,
            columns=dict(columns or space_columns(settings)),
            id_table=dict(zip(video_ids, ids.tolist())),
            next_id=len(ids),
            created_at=persistence.now(),
        )
        return cls(record)

    # ------------------------------------------------------------------------------------- read side
    @property
    def dims(self) -> dict[str, int]:
        return {space: index.dim for space, index in self._spaces.items()}

    def __len__(self) -> int:
        return len(self._id_of)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._id_of

    def video_ids(self) -> list[str]:
        with self._rw.read():
            return list(self._id_of)

    def index_type(self, space: str) -> str:
        return self._space(space).kind

    # Each read looks its space up under the read lock: compaction swaps a space's index, and an index fetched
    # before the swap would miss the updates made after it.

    def vector(self, video_id: str, space: str) -> np.ndarray:
        """The stored (unit) vector of `video_id` in `space`; decoded, so approximate, for IVF-PQ."""
        self._space(space)
        with self._rw.read():
            return self._space(space).reconstruct(self._int_id(video_id))

    def search(self, query: np.ndarray, space: str, k: int, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        """The `k` videos most similar to `query` in `space`, best first, as (video_id, cosine score)."""
        dim = self._space(space).dim
        _check_k(k)
        q = unit_rows(np.asarray(query).reshape(1, -1), dim, what=f"{space} query")
        with self._rw.read():
            return self._search_locked(q, self._space(space), k, exclude)

    def search_id(self, video_id: str, space: str, k: int) -> list[tuple[str, float]]:
        """Neighbours of a stored video (itself left out); UnknownVideoError if it is not stored."""
        self._space(space)
        _check_k(k)
        with self._rw.read():
            return self._search_id_locked(video_id, self._space(space), k)

    def search_id_with_vectors(self, video_id: str, space: str, k: int, vector_space: str) -> NeighbourVectors:
        """`search_id` in `space`, plus the stored `vector_space` vectors of the video and of each neighbour,
        under one read lock: separate calls could see a neighbour that a concurrent delete then removed."""
        self._space(space)
        self._space(vector_space)
        _check_k(k)
        with self._rw.read():
            neighbours = self._search_id_locked(video_id, self._space(space), k)
            other = self._space(vector_space)
            query = other.reconstruct(self._id_of[video_id])
            rows = [other.reconstruct(self._id_of[vid]) for vid, _ in neighbours]
        vectors = np.stack(rows) if rows else np.zeros((0, other.dim), np.float32)
        return NeighbourVectors(neighbours, query, vectors)

    def _search_id_locked(self, video_id: str, index: SpaceIndex, k: int) -> list[tuple[str, float]]:
        q = unit_rows(index.reconstruct(self._int_id(video_id)), index.dim)
        return self._search_locked(q, index, k, (video_id,))

    def search_ids(self, video_ids: Sequence[str], space: str, k: int) -> list[list[tuple[str, float]]]:
        """`search_id` for many stored videos in one batched search (each left out of its own list), the way
        an offline job asks: same answers as one call per video, at a fraction of the cost."""
        index = self._space(space)
        _check_k(k)
        if not video_ids:
            return []
        with self._rw.read():
            ids = [self._int_id(v) for v in video_ids]
            q = unit_rows(np.stack([index.reconstruct(i) for i in ids]), index.dim)
            fetch = min(k + 1, len(self._id_of))
            scores, labels = index.search(q, fetch)
            return [self._results(index, scores[r], labels[r], k, {ids[r]}) for r in range(len(ids))]

    def vectors(self, video_ids: Sequence[str], space: str) -> np.ndarray:
        """The stored (unit) vectors of `video_ids` in `space`, one row each, read under one lock."""
        index = self._space(space)
        with self._rw.read():
            rows = [index.reconstruct(self._int_id(v)) for v in video_ids]
        return np.stack(rows) if rows else np.zeros((0, index.dim), np.float32)

    def _search_locked(
        self, q: np.ndarray, index: SpaceIndex, k: int, exclude: Collection[str]
    ) -> list[tuple[str, float]]:
        excluded = {self._id_of[v] for v in exclude if v in self._id_of}
        fetch = min(k + len(excluded), len(self._id_of))
        if fetch <= 0:
            return []
        scores, labels = index.search(q, fetch)
        return self._results(index, scores[0], labels[0], k, excluded)

    def _results(
        self, index: SpaceIndex, scores: np.ndarray, labels: np.ndarray, k: int, excluded: Collection[int]
    ) -> list[tuple[str, float]]:
        """One query's (video_id, score) list from FAISS's row, without `excluded` ids, at most `k` long."""
        results: list[tuple[str, float]] = []
        for score, label in zip(scores.tolist(), labels.tolist()):
            if label < 0 or label in excluded:
                continue
            video = self._video_of.get(label)
            if video is None:  # an invariant, not a user error: index and table updated together
                raise RuntimeError(f"{index.plan.description}: id {label} missing from the id table")
            results.append((video, score))
            if len(results) == k:
                break
        return results

    def _space(self, space: str) -> SpaceIndex:
        try:
            return self._spaces[space]
        except KeyError:
            raise ValueError(f"unknown space {space!r}; expected one of {', '.join(SPACES)}") from None

    def _int_id(self, video_id: str) -> int:
        try:
            return self._id_of[video_id]
        except KeyError:
            raise UnknownVideoError(video_id) from None

    # ------------------------------------------------------------------------------------ write side
    def add(self, video_ids: list[str], vectors: dict[str, np.ndarray]) -> None:
        """Add videos (`vectors[space]`: (n, dims[space])); re-adding a stored id replaces its vectors."""
        video_ids = list(video_ids)
        if len(set(video_ids)) != len(video_ids):
            raise ValueError("video_ids passed to add() must be unique")
        if not all(isinstance(v, str) and v for v in video_ids):
            raise ValueError("video ids must be non-empty strings")
        unknown = set(vectors) - set(SPACES)
        if unknown:
            raise ValueError(f"unknown space(s) {sorted(unknown)}; expected {', '.join(SPACES)}")
        prepared = {}
        for space in SPACES:
            if space not in vectors:
                raise ValueError(f"add() needs vectors for every space; {space!r} missing")
            matrix = unit_rows(vectors[space], self.dims[space], what=f"{space} vectors")
            if len(matrix) != len(video_ids):
                raise ValueError(f"{len(matrix)} {space} vectors for {len(video_ids)} video ids")
            prepared[space] = matrix
        if not video_ids:
            return
        with self._writer:
            with self._rw.write():
                retired = [self._id_of[v] for v in video_ids if v in self._id_of]
                new_ids = np.arange(self._next_id, self._next_id + len(video_ids), dtype=np.int64)
                for space, index in self._spaces.items():
                    if retired:
                        index.remove(np.asarray(retired, dtype=np.int64))
                    index.add(prepared[space], new_ids)
                    index.refresh_gpu()
                for old in retired:
                    del self._video_of[old]
                for video, new in zip(video_ids, new_ids.tolist()):
                    self._id_of[video] = new
                    self._video_of[new] = video
                self._next_id += len(video_ids)
            self._compact_locked()

    def remove(self, video_ids: list[str]) -> None:
        """Remove videos; UnknownVideoError (and nothing removed) if any is not stored."""
        wanted = list(dict.fromkeys(video_ids))
        if not wanted:
            return
        with self._writer:
            with self._rw.write():
                missing = [v for v in wanted if v not in self._id_of]
                if missing:
                    raise UnknownVideoError(missing)
                ids = np.asarray([self._id_of[v] for v in wanted], dtype=np.int64)
                for index in self._spaces.values():
                    index.remove(ids)
                    index.refresh_gpu()
                for video, old in zip(wanted, ids.tolist()):
                    del self._id_of[video]
                    del self._video_of[old]
            self._compact_locked()

    def _compact_locked(self) -> None:
        """Rebuild tombstone-heavy indexes (HNSW) aside, then swap them in; caller holds the writer mutex."""
        for space, index in list(self._spaces.items()):
            if index.needs_compaction():
                fresh = index.compacted()  # searches go on against `index` meanwhile
                with self._rw.write():
                    self._spaces[space] = fresh

    # ----------------------------------------------------------------------------------- persistence
    def _record(self) -> persistence.IndexRecord:
        return persistence.IndexRecord(
            fingerprint=self.fingerprint,
            spaces=self._spaces,
            columns=self.columns,
            id_table=self._id_of,
            next_id=self._next_id,
            created_at=self.created_at,
            emb_dir=self.emb_dir,
        )

    @property
    def manifest(self) -> dict[str, Any]:
        """What save() writes to manifest.json; checksums are those of the last save or load."""
        with self._rw.read():
            return persistence.manifest(self._record(), self._saved)

    def save(self, index_dir: Path) -> None:
        """Write both indexes, the id table and manifest.json (last) to `index_dir`; crash-safe."""
        with self._writer:  # no update between the data files and the manifest; searches continue
            self._saved = persistence.save(Path(index_dir), self._record())
        persistence.remove_stale_data(Path(index_dir), self._saved)

    @classmethod
    def load(cls, index_dir: Path, settings: IndexSettings, expect_fingerprint: str | None = None) -> IndexSet:
        """Open a saved INDEX_DIR, verifying it first; IndexLoadError says what is wrong and what to do."""
        return cls(*persistence.load(Path(index_dir), settings, expect_fingerprint))


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
