"""IndexSet: the style and the content index of one catalogue in memory, their shared id table, updates.

Ids: every video gets a fresh int64 id when added (re-adding a video retires its old id), shared by both
spaces, so one table maps ids to video ids for both.

Writes cost the same at any catalogue size: an add goes into a small exact `delta` index searched beside
the main one, a delete hides the id from the main index (`SpaceIndex.hide`) or drops it from the delta. With a
write-ahead log attached (`load(..., writable=True)`), each write is appended and fsynced before it is applied.
`save()` is the compaction: it folds the delta and the deletes into the main index (a cost in proportion to
them, under the write lock), seals the log, writes INDEX_DIR through `persistence.save` while searches and
writes go on, then drops the log records the save made redundant. Loading replays the log past the save.

Several processes (`load(..., shared=True)`, the service with `serve.workers > 1`) serve one INDEX_DIR: each
memory-maps the index files read-only, so the page cache holds one copy for all of them (except fast-scan lists,
which faiss reads into each process: d/2 bytes a vector; their float vectors stay shared), and keeps its own
delta. A write takes the log's inter-process lock, first takes in what the other processes logged, then appends
and applies its own; `sync()` (before each request: one read of `wal.head` and one stat of the manifest) takes
in the others' writes, and the new index files a compaction wrote (loaded in the background meanwhile, while the
log segments they fold in, kept one compaction longer, still serve the writes). The compaction in this mode
loads the files into memory, replays the log, folds and saves, in whichever process has its lock.

Concurrency: searches share a readers-writer lock; `add`/`remove` take it exclusively for the short time
they apply, so a search sees the state before or after an update, never between. Writers are also
serialised by a separate mutex (the log append and its fsync happen under it, outside the readers' lock), and
saves by a third, so a save runs without blocking searches or writes. The main index changes only in a save.
Saving and loading INDEX_DIR is `vidstyle.indexing.persistence`; the log is `vidstyle.indexing.writelog`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.core.spaces import SPACES
from vidstyle.core.vectors import expand_query, unit
from vidstyle.embedder.dataset import read_embeddings
from vidstyle.indexing import persistence, writelog
from vidstyle.indexing.errors import IndexLoadError, UnknownVideoError
from vidstyle.indexing.factory import IndexPlan, create_index, single_threaded
from vidstyle.indexing.rwlock import RWLock
from vidstyle.indexing.space import SpaceIndex

log = logging.getLogger(__name__)

RELOAD_ATTEMPTS = 5  # a compaction in another process may delete what a reload was about to read; try again
DELTA_PLAN = IndexPlan(kind="flat", reason="writes since the last compaction (exact search)")


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
        self._settings = next(iter(self._spaces.values())).settings
        self._delta = {space: self._empty_delta(index.dim) for space, index in self._spaces.items()}
        self._in_delta: set[int] = set()  # ids stored in the deltas rather than the main indexes
        self._log_id = record.log_id or uuid.uuid4().hex
        self._log_seq = record.log_seq  # the last logged write applied here
        self._log: writelog.WriteLog | None = None
        self._pending = 0  # videos added or deleted since the last fold
        self._rw = RWLock()
        self._writer = threading.RLock()
        self._writes = 0  # threads in or waiting for `exclusive()`: a write may wait for the others' log lock
        self._writes_mutex = threading.Lock()
        self._saving = threading.Lock()
        self._shared_dir: Path | None = None  # INDEX_DIR, when other processes serve and write it too
        self._manifest_id: tuple[int, int] | None = None  # the manifest the main indexes were loaded from
        self._reloading = threading.Lock()
        self._version = 0  # bumped whenever the catalogue changes (a write here or elsewhere, a reload)

    def _empty_delta(self, dim: int) -> SpaceIndex:
        return SpaceIndex(create_index(DELTA_PLAN, dim), DELTA_PLAN, self._settings)

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
            log_id=uuid.uuid4().hex,
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
            return self._reconstruct(space, self._int_id(video_id))

    def search(self, query: np.ndarray, space: str, k: int, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        """The `k` videos most similar to `query` in `space`, best first, as (video_id, cosine score)."""
        dim = self._space(space).dim
        _check_k(k)
        q = unit_rows(np.asarray(query).reshape(1, -1), dim, what=f"{space} query")
        with self._rw.read():
            return self._search_locked(q, space, k, exclude)

    def search_id(self, video_id: str, space: str, k: int) -> list[tuple[str, float]]:
        """Neighbours of a stored video (itself left out); UnknownVideoError if it is not stored."""
        self._space(space)
        _check_k(k)
        with self._rw.read():
            return self._search_id_locked(video_id, space, k)

    def search_id_with_vectors(self, video_id: str, space: str, k: int, vector_space: str,
                               expansion: int = 0) -> NeighbourVectors:
        """`search_id` in `space`, plus the stored `vector_space` vectors of the video and of each neighbour,
        under one read lock: separate calls could see a neighbour that a concurrent delete then removed.
        `expansion` > 0: the video's vector is first expanded over its `expansion` nearest neighbours in `space`
        (`core.vectors.expand_query`), and the neighbours and their scores are those of the expanded query."""
        self._space(space)
        dim = self._space(vector_space).dim
        _check_k(k)
        with self._rw.read():
            neighbours = self._search_id_locked(video_id, space, k, expansion)
            query = self._reconstruct(vector_space, self._id_of[video_id])
            rows = [self._reconstruct(vector_space, self._id_of[vid]) for vid, _ in neighbours]
        vectors = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
        return NeighbourVectors(neighbours, query, vectors)

    def _search_id_locked(self, video_id: str, space: str, k: int, expansion: int = 0) -> list[tuple[str, float]]:
        q = unit_rows(self._reconstruct(space, self._int_id(video_id)), self._spaces[space].dim)
        if expansion > 0:
            q = self._expanded(space, q, self._search_locked(q, space, expansion, (video_id,)))
        return self._search_locked(q, space, k, (video_id,))

    def _expanded(self, space: str, q: np.ndarray, near: list[tuple[str, float]]) -> np.ndarray:
        """(1, dim) query row `q` expanded over its nearest `near` (`core.vectors.expand_query`)."""
        if not near:
            return q
        rows = np.stack([self._reconstruct(space, self._id_of[v]) for v, _ in near])
        expanded = expand_query(q[0], unit_rows(rows, self._spaces[space].dim), [score for _, score in near])
        return unit_rows(expanded.reshape(1, -1), self._spaces[space].dim)

    def search_ids(self, video_ids: Sequence[str], space: str, k: int,
                   expansion: int = 0) -> list[list[tuple[str, float]]]:
        """`search_id` for many stored videos in one batched search (each left out of its own list), the way
        an offline job asks: same answers as one call per video, at a fraction of the cost; `expansion` as in
        `search_id_with_vectors` (one more batched search for the neighbours the queries are expanded over)."""
        dim = self._space(space).dim
        _check_k(k)
        if not video_ids:
            return []
        with self._rw.read():
            ids = [self._int_id(v) for v in video_ids]
            q = unit_rows(np.stack([self._reconstruct(space, i) for i in ids]), dim)
            if expansion > 0:
                scores, labels = self._search_both(space, q, min(expansion + 1, len(self._id_of)))
                near = [self._results(space, scores[r], labels[r], expansion, {ids[r]}) for r in range(len(ids))]
                q = np.concatenate([self._expanded(space, q[r : r + 1], near[r]) for r in range(len(ids))])
            fetch = min(k + 1, len(self._id_of))
            scores, labels = self._search_both(space, q, fetch)
            return [self._results(space, scores[r], labels[r], k, {ids[r]}) for r in range(len(ids))]

    def vectors(self, video_ids: Sequence[str], space: str) -> np.ndarray:
        """The stored (unit) vectors of `video_ids` in `space`, one row each, read under one lock."""
        dim = self._space(space).dim
        with self._rw.read():
            rows = [self._reconstruct(space, self._int_id(v)) for v in video_ids]
        return np.stack(rows) if rows else np.zeros((0, dim), np.float32)

    @property
    def version(self) -> int:
        """Changes whenever the videos stored may have changed (to key caches of derived lists)."""
        return self._version

    def pending_writes(self) -> int:
        """Videos added or deleted since the last compaction (what the log holds past the index files)."""
        return self._pending

    def _reconstruct(self, space: str, vector_id: int) -> np.ndarray:
        where = self._delta if vector_id in self._in_delta else self._spaces
        return where[space].reconstruct(vector_id)

    def _search_both(self, space: str, q: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
        """The best `fetch` of the main index and the delta together, per query row, best first."""
        scores, labels = self._spaces[space].search(q, fetch)
        delta = self._delta[space]
        if delta.ntotal == 0:
            return scores, labels
        delta_scores, delta_labels = delta.search(q, fetch)
        scores = np.concatenate([scores, delta_scores], axis=1)
        labels = np.concatenate([labels, delta_labels], axis=1)
        scores = np.where(labels < 0, -np.inf, scores)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :fetch]
        return np.take_along_axis(scores, order, axis=1), np.take_along_axis(labels, order, axis=1)

    def _search_locked(self, q: np.ndarray, space: str, k: int, exclude: Collection[str]) -> list[tuple[str, float]]:
        excluded = {self._id_of[v] for v in exclude if v in self._id_of}
        fetch = min(k + len(excluded), len(self._id_of))
        if fetch <= 0:
            return []
        scores, labels = self._search_both(space, q, fetch)
        return self._results(space, scores[0], labels[0], k, excluded)

    def _results(
        self, space: str, scores: np.ndarray, labels: np.ndarray, k: int, excluded: Collection[int]
    ) -> list[tuple[str, float]]:
        """One query's (video_id, score) list from FAISS's row, without `excluded` ids, at most `k` long."""
        results: list[tuple[str, float]] = []
        for score, label in zip(scores.tolist(), labels.tolist()):
            if label < 0 or label in excluded:
                continue
            video = self._video_of.get(label)
            if video is None:  # an invariant, not a user error: index and table updated together
                raise RuntimeError(f"{space} index: id {label} missing from the id table")
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
        """Add videos (`vectors[space]`: (n, dims[space])); re-adding a stored id replaces its vectors.

        With a log attached, the write is durable when this returns."""
        video_ids = list(video_ids)
        if len(set(video_ids)) != len(video_ids):
            raise ValueError("video_ids passed to add() must be unique")
        if not all(isinstance(v, str) and v for v in video_ids):
            raise ValueError("video ids must be non-empty strings")
        prepared = self._prepare(video_ids, vectors)
        if not video_ids:
            return
        with self.exclusive():
            self._append("add", video_ids, prepared)
            with self._rw.write():
                self._apply_add(video_ids, prepared)

    def remove(self, video_ids: list[str]) -> None:
        """Remove videos; UnknownVideoError (and nothing removed) if any is not stored."""
        wanted = list(dict.fromkeys(video_ids))
        if not wanted:
            return
        with self.exclusive():  # the id table changes only under this mutex
            missing = [v for v in wanted if v not in self._id_of]
            if missing:
                raise UnknownVideoError(missing)
            self._append("remove", wanted)
            with self._rw.write():
                self._apply_remove(wanted)

    def _prepare(self, video_ids: list[str], vectors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
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
        return prepared

    def _append(self, op: str, video_ids: list[str], vectors: Mapping[str, np.ndarray] | None = None) -> None:
        """Log a write before it is applied (caller holds the writer mutex); a no-op without a log."""
        if self._log is not None:
            self._log_seq = self._log.append(op, video_ids, vectors)

    def _apply_add(self, video_ids: list[str], prepared: Mapping[str, np.ndarray]) -> None:
        """Put new vectors in the deltas under fresh ids (caller holds both locks)."""
        retired = [self._id_of[v] for v in video_ids if v in self._id_of]
        self._retire(retired)
        for old in retired:
            del self._video_of[old]
        new_ids = np.arange(self._next_id, self._next_id + len(video_ids), dtype=np.int64)
        for space, delta in self._delta.items():
            delta.add(prepared[space], new_ids)
        self._in_delta.update(new_ids.tolist())
        for video, new in zip(video_ids, new_ids.tolist()):
            self._id_of[video] = new
            self._video_of[new] = video
        self._next_id += len(video_ids)
        self._pending += len(video_ids)
        self._version += 1

    def _apply_remove(self, video_ids: list[str]) -> None:
        """Remove stored videos (caller holds both locks); ids not stored are skipped, as a replay needs."""
        present = [v for v in video_ids if v in self._id_of]
        self._retire([self._id_of[v] for v in present])
        for video in present:
            del self._video_of[self._id_of.pop(video)]
        self._pending += len(present)
        self._version += 1

    def _retire(self, ids: list[int]) -> None:
        """Take ids out of searches: dropped from the small deltas, hidden in the main indexes."""
        in_delta = [i for i in ids if i in self._in_delta]
        in_main = [i for i in ids if i not in self._in_delta]
        if in_delta:
            for delta in self._delta.values():
                delta.remove(np.asarray(in_delta, dtype=np.int64))
            self._in_delta.difference_update(in_delta)
        if in_main:
            for index in self._spaces.values():
                index.hide(in_main)

    def _replay(self, record: writelog.LogRecord) -> None:
        """Apply one logged write at load; skips what a replay has already applied (idempotent)."""
        if record.op == "add":
            self._apply_add(record.video_ids, self._prepare(record.video_ids, record.vectors))
        elif record.op == "remove":
            self._apply_remove(record.video_ids)
        else:
            raise ValueError(f"unknown write-ahead log operation {record.op!r} (seq {record.seq})")
        self._log_seq = record.seq

    # ------------------------------------------------------------------------- several processes, one INDEX_DIR
    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """This thread is the catalogue's one writer inside the block: in this process and, when shared, across
        the processes serving INDEX_DIR (their writes taken in first). Re-entrant; what a caller changes beside
        the index (the service's dataset) is serialised by the same lock."""
        with self._writes_mutex:
            self._writes += 1
        try:
            with self._writer:
                if self._shared_dir is None or self._log is None:
                    yield
                    return
                with self._log.exclusive():
                    self._refresh_locked()
                    yield
        finally:
            with self._writes_mutex:
                self._writes -= 1

    def sync(self) -> bool:
        """Shared: take in what other processes wrote since the last look; True if anything changed. Cheap when
        nothing did, and never waits for a write of this process (which may wait for the other processes'
        lock): with one under way, or new index files still loading (in a background thread), it answers from
        the state it has, which is whole. It does wait for the short swap that ends a background load: giving
        up then would leave out writes other processes acknowledged, which the sealed log still holds."""
        if self._shared_dir is None or self._log is None:
            return False
        if persistence.manifest_identity(self._shared_dir) != self._manifest_id:
            self._reload_in_background()
        if self._log.head() <= self._log_seq or not self._writer.acquire(blocking=not self._writes):
            return False
        try:
            return self._catch_up_locked(reload=False)
        finally:
            self._writer.release()

    def refresh(self) -> None:
        """Shared: take in every write other processes made, and new index files, before returning."""
        with self.exclusive():
            pass

    def _refresh_locked(self) -> None:
        """Caller holds the writer mutex and the log's lock: nothing changes the log meanwhile."""
        assert self._shared_dir is not None
        if persistence.manifest_identity(self._shared_dir) != self._manifest_id:
            self._reload()
        self._catch_up_locked(reload=True)

    def _catch_up_locked(self, reload: bool) -> bool:
        """Apply the log records past this state's (caller holds the writer mutex). A compaction may have
        deleted them: then load its files (`reload`) or leave the state as it is for the background reload."""
        assert self._log is not None
        try:
            records = self._log.read_new()
        except writelog.LogGap:
            if not reload:
                self._reload_in_background()
                return False
            self._reload()
            records = self._log.read_new()
        if records:
            with self._rw.write():
                for record in records:
                    self._replay(record)
        return bool(records)

    def _reload_in_background(self) -> None:
        if self._reloading.acquire(blocking=False):
            threading.Thread(target=self._reload_task, name="vidstyle-index-reload", daemon=True).start()

    def _reload_task(self) -> None:
        try:
            if self._log is not None:  # None: closed meanwhile, nothing left to serve
                self._reload()
        except Exception:  # noqa: BLE001 - the old state stays in service; the next request tries again
            log.exception("taking in the new index files of %s failed", self._shared_dir)
        finally:
            self._reloading.release()

    def _reload(self) -> None:
        """Load the index files a compaction wrote (memory-mapped, sizes checked: their writer checksummed them)
        and replay the log past them, with no lock held, so this process answers from its old state meanwhile;
        then, under the writer mutex, take in the last records and swap the new state in whole."""
        assert self._shared_dir is not None and self._log is not None
        for attempt in range(RELOAD_ATTEMPTS):
            identity = persistence.manifest_identity(self._shared_dir)
            try:
                record, saved = persistence.load(self._shared_dir, self._settings, self.fingerprint, mmap=True,
                                                 verify=False)
                fresh = IndexSet(record, saved)
                for logged in writelog.read(self._shared_dir, fresh._log_id, fresh._log_seq):
                    fresh._replay(logged)
                with self._writer:
                    self._log.log_id = fresh._log_id
                    self._log.restart_at(fresh._log_seq)
                    try:
                        for logged in self._log.read_new():
                            fresh._replay(logged)
                    except BaseException:  # whatever the failure, the log must not stay on the state not taken
                        self._log.log_id = self._log_id
                        self._log.restart_at(self._log_seq)  # back to where the old state is
                        raise
                    with self._rw.write():
                        for name in ("_spaces", "_id_of", "_video_of", "_next_id", "_saved", "_delta", "_in_delta",
                                     "_log_id", "_log_seq", "_pending", "columns", "created_at"):
                            setattr(self, name, getattr(fresh, name))
                        self._manifest_id = identity
                        self._version += 1
                log.info("took in the index files of %s (%d videos)", self._shared_dir, len(self._id_of))
                return
            except IndexLoadError:  # a newer compaction replaced what was being read
                if attempt == RELOAD_ATTEMPTS - 1:
                    raise

    def _compact_shared(self) -> None:
        """Compaction when several processes serve INDEX_DIR: seal the log under its lock, then (no lock held)
        load the index files into memory, replay the log, fold and save; one process at a time, the others skip.

        The log segments go one compaction late: a process still on the previous files goes on reading the
        writes of the sealed segment while it loads the new files in the background, so no write it has
        acknowledged, or another process has, disappears from its answers meanwhile."""
        assert self._shared_dir is not None and self._log is not None
        with self._log.compaction() as mine:
            if not mine:
                return
            with self.exclusive():
                if not self._pending:
                    return
                self._log.rotate()
            previous = persistence.read_manifest(self._shared_dir)["log"]["seq"]
            full = IndexSet.load(self._shared_dir, self._settings, self.fingerprint)
            full._save(self._shared_dir, drop_log_through=previous)  # no log attached: fold and write
        self.refresh()

    # ------------------------------------------------------------------------------------- compaction
    def compact(self) -> None:
        """Fold the deltas and the hidden deletes into the main indexes, in memory (what `save` starts with)."""
        with self._saving:
            with self._writer, self._rw.write():
                self._fold_locked()
            self._rebuild_tombstoned()

    def _fold_locked(self) -> None:
        """Move the deltas' vectors into the main indexes and apply hidden deletes (caller holds both locks).

        Costs in proportion to the writes folded (IVF: hash direct map removal, list appends), not the index."""
        for space, index in self._spaces.items():
            index.fold_hidden()
            delta = self._delta[space]
            if delta.ntotal:
                vectors, ids = delta.contents()
                with single_threaded():  # a small batch; OpenMP start-up on a busy machine costs more
                    index.add(vectors, ids)
                self._delta[space] = self._empty_delta(index.dim)
            index.refresh_gpu()
        self._in_delta.clear()
        self._pending = 0

    def _rebuild_tombstoned(self) -> None:
        """Rebuild tombstone-heavy indexes (HNSW) aside, then swap them in; caller holds the save mutex.

        Searches and writes go on against the old index meanwhile; deletes made meanwhile carry over."""
        for space, index in list(self._spaces.items()):
            if index.needs_compaction():
                fresh = index.compacted()
                with self._writer, self._rw.write():
                    fresh.hide(index.hidden)
                    self._spaces[space] = fresh

    # ----------------------------------------------------------------------------------- persistence
    def _record(self) -> persistence.IndexRecord:
        """What a save writes: the main indexes (folded) and a copy of the id table (caller holds the locks)."""
        return persistence.IndexRecord(
            fingerprint=self.fingerprint,
            spaces=dict(self._spaces),
            columns=self.columns,
            id_table=dict(self._id_of),
            next_id=self._next_id,
            created_at=self.created_at,
            emb_dir=self.emb_dir,
            log_id=self._log_id,
            log_seq=self._log_seq,
        )

    @property
    def manifest(self) -> dict[str, Any]:
        """What save() writes to manifest.json; checksums are those of the last save or load."""
        with self._rw.read():
            return persistence.manifest(self._record(), self._saved)

    def save(self, index_dir: Path) -> None:
        """Compact, then write both indexes, the id table and manifest.json (last) to `index_dir`; crash-safe.

        Searches and writes go on while the files are written (the main indexes change only in a save). With a
        log attached, `index_dir` must be its directory: the save seals the log, and deletes what it folded in.
        """
        index_dir = Path(index_dir)
        if self._log is not None and index_dir.resolve() != self._log.index_dir.resolve():
            raise ValueError(f"this index logs its writes to {self._log.index_dir}; it cannot be saved elsewhere")
        if self._shared_dir is not None:
            self._compact_shared()
            return
        self._save(index_dir)

    def _save(self, index_dir: Path, drop_log_through: int | None = None) -> None:
        """`save` of one process; the log segments folded in through `drop_log_through` (default: all) go."""
        with self._saving:
            with self._writer, self._rw.write():
                self._fold_locked()
                if self._log is not None:
                    self._log.rotate()  # later writes go to a segment the save does not cover
                record = self._record()  # the id table as of the fold: later writes are the log's
            self._rebuild_tombstoned()
            record = dataclasses.replace(record, spaces=dict(self._spaces))  # only a save swaps them
            self._saved = persistence.save(index_dir, record)
            self._map_saved_vectors(index_dir, record)
            persistence.remove_stale_data(index_dir, self._saved)
            through = record.log_seq if drop_log_through is None else min(drop_log_through, record.log_seq)
            writelog.drop_through(index_dir, record.log_id, through)

    def _map_saved_vectors(self, index_dir: Path, record: persistence.IndexRecord) -> None:
        """Re-rank from the float vectors file just written, memory-mapped, instead of the copies in memory (every
        vector added since the process started, or all of them after a rebuild). The main indexes have not changed
        since the save took them (only a save changes them, and the caller holds the save mutex); deletes since
        are hidden ids, whose rows the file still holds."""
        mapped = {space: persistence.saved_exact_vectors(index_dir, self._saved, space, index.dim)
                  for space, index in record.spaces.items() if index.exact is not None}
        with self._rw.write():
            for space, exact in mapped.items():
                if exact is not None and self._spaces[space] is record.spaces[space]:
                    self._spaces[space].exact = exact

    def close(self) -> None:
        """Close the write-ahead log (a later write raises); what was written stays durable."""
        with self._writer:
            if self._log is not None:
                self._log.close()
                self._log = None

    @classmethod
    def load(
        cls, index_dir: Path, settings: IndexSettings, expect_fingerprint: str | None = None, *, writable: bool = False,
        shared: bool = False,
    ) -> IndexSet:
        """Open a saved INDEX_DIR, verifying it first, and replay its write-ahead log; IndexLoadError says what is
        wrong and what to do. `writable`: this process is INDEX_DIR's one writer: it removes what an interrupted
        save left, cuts a torn last log record, and logs its writes. `shared`: one of several processes serving
        and writing INDEX_DIR (see the module's docstring)."""
        index_dir = Path(index_dir)
        if shared:
            if writable:
                raise ValueError("an index is opened either writable (one writer) or shared, not both")
            return cls._load_shared(index_dir, settings, expect_fingerprint)
        index_set = cls(*persistence.load(index_dir, settings, expect_fingerprint))
        with index_set._writer, index_set._rw.write():
            for record in writelog.read(index_dir, index_set._log_id, index_set._log_seq):
                index_set._replay(record)
            if writable:
                persistence.remove_orphans(index_dir)
                index_set._log = writelog.WriteLog(index_dir, index_set._log_id, index_set._log_seq)
        return index_set

    @classmethod
    def _load_shared(cls, index_dir: Path, settings: IndexSettings, expect_fingerprint: str | None) -> IndexSet:
        for attempt in range(RELOAD_ATTEMPTS):
            identity = persistence.manifest_identity(index_dir)
            index_set = None
            try:  # a compaction may replace the files (and delete the old ones) while they are read
                index_set = cls(*persistence.load(index_dir, settings, expect_fingerprint, mmap=True))
                index_set._log = writelog.WriteLog(index_dir, index_set._log_id, index_set._log_seq, shared=True)
                with index_set._writer, index_set._rw.write():
                    for record in index_set._log.read_new():
                        index_set._replay(record)
            except IndexLoadError:
                if index_set is not None and index_set._log is not None:
                    index_set._log.close()
                if attempt == RELOAD_ATTEMPTS - 1:
                    raise
                continue
            index_set._shared_dir, index_set._manifest_id = index_dir, identity
            return index_set
        raise AssertionError("unreachable")


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
