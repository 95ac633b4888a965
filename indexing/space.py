"""One space's FAISS index (style or content): build, add, remove, search, reconstruct.

Ids are the int64 ids of `IndexSet`'s id table. Flat and IVF indexes remove vectors for real
(`remove_ids`); HNSW graphs and fast-scan lists do not (`TOMBSTONE_KINDS`), so removed ids become tombstones
(`dead`), filtered out of every search, and the index is rebuilt without them once they pass
`COMPACT_FRACTION` of it. The filter is an `IDSelector` in the per-query parameters, except for fast-scan,
whose candidates are filtered before re-ranking (its scan took 1.3x as long with a selector of 1,000 ids and
2.6x with 250,000, at 1M x 64). Deletes made since the last compaction are `hidden` the same way, so that a
delete never rewrites a large index; `fold_hidden` removes them for real when the compaction runs. Not
thread-safe on its own: `IndexSet` keeps readers and writers apart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace

import faiss
import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing.exact_vectors import ExactVectors
from vidstyle.indexing.factory import (
    IVF_KINDS,
    MIN_VECTORS_TO_TRAIN,
    RECALL_K,
    RERANK_FACTOR,
    RERANK_KINDS,
    RERANK_MIN,
    SINGLE_THREAD_BELOW,
    TOMBSTONE_KINDS,
    IndexPlan,
    create_index,
    plan_index,
    probes,
    search_params,
    single_threaded,
    train_index,
    tune_nprobe,
)
from vidstyle.indexing.gpu import GpuMirror, gpu_allowed

log = logging.getLogger(__name__)

COMPACT_FRACTION = 0.25
NPROBE_QUERIES = 200  # stored vectors searched, as queries, to measure the probes that reach the target recall
ADD_CHUNK = 65_536  # bounded temporaries while adding millions of vectors


class SpaceIndex:
    def __init__(
        self,
        index: faiss.Index,
        plan: IndexPlan,
        settings: IndexSettings,
        dead: Iterable[int] = (),
        exact: ExactVectors | None = None,
        mapped: bool = False,
    ):
        self.index = index
        self.mapped = mapped  # memory-mapped read-only from INDEX_DIR: searched, hidden from, never changed
        self.exact = exact  # the float vectors that re-rank a compressed index's candidates
        self.plan = plan
        self.settings = settings
        self.dead: set[int] = set()
        self.hidden: set[int] = set()
        self._selector: faiss.IDSelector | None = None
        self._excluded: set[int] = set()
        self._selector_parts: tuple[object, ...] = ()
        self._mark_dead(dead)
        self.gpu: GpuMirror | None = None
        self.refresh_gpu()

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def kind(self) -> str:
        return self.plan.kind

    @property
    def ntotal(self) -> int:
        """Vectors stored, tombstoned ones included."""
        return int(self.index.ntotal)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: np.ndarray,
        settings: IndexSettings,
        *,
        plan: IndexPlan | None = None,
        s_per_vector: float | None = None,
        label: str = "",
    ) -> SpaceIndex:
        """Plan (unless given), train and fill an index with unit vectors `vectors` under `ids`."""
        n, dim = vectors.shape
        plan = plan or plan_index(n, dim, settings, s_per_vector)
        log.info("%sindex %s for %d x %d: %s", f"{label} " if label else "", plan.description, n, dim, plan.reason)
        start = time.perf_counter()
        index = create_index(plan, dim)
        train_index(index, plan, vectors, settings)
        space = cls(index, plan, settings)
        space.add(vectors, ids)
        if plan.kind in RERANK_KINDS:
            space.exact = ExactVectors.from_vectors(ids, vectors)
        space.plan = space.tuned(plan, vectors, ids)
        space.refresh_gpu()  # the mirror made with the empty index is replaced by one of the filled index
        log.info("built %s in %.1f s", space.plan.description, time.perf_counter() - start)
        return space

    def tuned(self, plan: IndexPlan, vectors: np.ndarray, ids: np.ndarray) -> IndexPlan:
        """`plan` with its probes measured (`tune_nprobe`) on a spread sample of the vectors just added."""
        if plan.kind not in IVF_KINDS or plan.nprobe or self.settings.nprobe is not None:
            return plan
        rows = np.unique(np.linspace(0, len(ids) - 1, NPROBE_QUERIES).astype(np.int64))
        queries = np.ascontiguousarray(vectors[rows], dtype=np.float32)
        _, nearest = faiss.knn(queries, vectors, RECALL_K + 1, metric=faiss.METRIC_INNER_PRODUCT)
        truth = np.stack([[i for i in ids[row] if i != own][:RECALL_K] for row, own in zip(nearest, ids[rows])])
        return tune_nprobe(plan, self.settings, self._search_at, queries, ids[rows], truth)

    def _search_at(self, queries: np.ndarray, nprobe: int) -> np.ndarray:
        """The ids of one CPU search as the service runs it, with `nprobe` lists probed (to measure it; the GPU
        mirror, made afterwards, has its probes set once)."""
        plan, gpu = self.plan, self.gpu
        self.plan, self.gpu = replace(plan, nprobe=nprobe), None
        try:
            return self.search(queries, RECALL_K + 1)[1]
        finally:
            self.plan, self.gpu = plan, gpu

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Append unit vectors under new ids (the caller removes an id before re-adding it; a tombstoned id
        cannot come back: `IndexSet` gives every add a fresh id)."""
        self._check_changeable()
        if self.dead and not self.dead.isdisjoint(ids.tolist()):
            raise ValueError(f"ids {sorted(self.dead.intersection(ids.tolist()))[:5]} are tombstones in this "
                             f"{self.plan.description} index; add under fresh ids")
        with single_threaded(len(ids) < SINGLE_THREAD_BELOW):  # the service adds one video at a time
            for start in range(0, len(ids), ADD_CHUNK):
                stop = start + ADD_CHUNK
                self.index.add_with_ids(
                    np.ascontiguousarray(vectors[start:stop], dtype=np.float32),
                    np.ascontiguousarray(ids[start:stop], dtype=np.int64),
                )
        if self.exact is not None:
            self.exact.add(np.asarray(ids, dtype=np.int64), vectors)

    def remove(self, ids: np.ndarray) -> None:
        """Remove stored ids (HNSW, fast-scan: as tombstones, which a mapped index takes too)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self.kind in TOMBSTONE_KINDS:  # still stored: their float vectors stay until the rebuild drops them
            self._mark_dead(ids.tolist())
            return
        self._check_changeable()
        if self.exact is not None:
            self.exact.discard(ids.tolist())
        if self.kind in IVF_KINDS:
            # The hash direct map only accepts an explicit id array (not the batch selector faiss
            # builds from a numpy array).
            self.index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))
        else:
            self.index.remove_ids(ids)

    def _check_changeable(self) -> None:
        if self.mapped:
            raise RuntimeError("a memory-mapped index is read-only: load INDEX_DIR without mmap to change it")

    def hide(self, ids: Iterable[int]) -> None:
        """Leave stored ids out of every search until `fold_hidden` removes them (a delete costs O(hidden))."""
        self.hidden.update(int(i) for i in ids)
        self._update_selector()

    def fold_hidden(self) -> None:
        """Remove the hidden ids for real (HNSW: they become tombstones)."""
        if self.hidden:
            hidden = np.fromiter(self.hidden, dtype=np.int64, count=len(self.hidden))
            self.hidden = set()
            self.remove(hidden)
            self._update_selector()

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, ids) of a Flat index, every stored one: what a compaction moves out of a delta."""
        assert self.kind == "flat", "contents() reads Flat deltas only"
        ids = self.stored_ids()
        vectors = faiss.downcast_index(self.index.index).reconstruct_n(0, self.ntotal) if len(ids) else None
        return (vectors if vectors is not None else np.zeros((0, self.dim), np.float32)), ids

    def _mark_dead(self, ids: Iterable[int]) -> None:
        self.dead.update(int(i) for i in ids)
        self._update_selector()

    def _update_selector(self) -> None:
        excluded = self.dead | self.hidden
        self._excluded = excluded
        if not excluded or self.kind == "ivf_fastscan":  # filtered after the scan (`_search_filtered`)
            self._selector, self._selector_parts = None, ()
            return
        array = np.fromiter(excluded, dtype=np.int64, count=len(excluded))
        batch = faiss.IDSelectorBatch(len(array), faiss.swig_ptr(array))
        # Keep every part alive as long as the selector: faiss holds raw pointers.
        self._selector = faiss.IDSelectorNot(batch)
        self._selector_parts = (batch, array)

    def needs_compaction(self) -> bool:
        return bool(self.dead) and len(self.dead) > COMPACT_FRACTION * self.ntotal

    def compacted(self) -> SpaceIndex:
        """A new index with the same plan holding only the live vectors (the graph is rebuilt)."""
        stored = self.stored_ids()
        live = ~np.isin(stored, np.fromiter(self.dead, dtype=np.int64, count=len(self.dead)))
        if self.exact is not None:  # compressed codes: the float vectors, not their lossy reconstruction
            vectors = self.exact.get(stored[live])
        else:
            inner = faiss.downcast_index(self.index.index) if self.kind in ("flat", "hnsw") else self.index
            vectors = inner.reconstruct_n(0, self.ntotal)[live]
        log.info("compacting %s: dropping %d tombstones", self.plan.description, int((~live).sum()))
        # Too few left to train the plan's lists and codebooks (k-means wants a point per list at least): planned
        # afresh for what is left, which is what a build of them would choose.
        trainable = len(vectors) >= max(MIN_VECTORS_TO_TRAIN.get(self.kind, 0), self.plan.nlist)
        return SpaceIndex.build(vectors, stored[live], self.settings, plan=self.plan if trainable else None)

    def stored_ids(self) -> np.ndarray:
        """Every id stored in the index, tombstoned ones included."""
        if self.kind in ("flat", "hnsw"):
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        invlists = self.index.invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(invlists.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    def reconstruct(self, vector_id: int) -> np.ndarray:
        """The stored vector (exact: compressed indexes read it from their float vectors)."""
        if self.exact is not None:
            return self.exact.get(np.asarray([vector_id]))[0]
        return np.asarray(self.index.reconstruct(int(vector_id)), dtype=np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the best `k` live vectors per query, best first; id -1 pads short rows."""
        k = min(k, self.ntotal)
        if k <= 0:
            return np.empty((len(queries), 0), np.float32), np.empty((len(queries), 0), np.int64)
        fetch = min(max(k * RERANK_FACTOR, RERANK_MIN), self.ntotal) if self.exact is not None else k
        if self.gpu is not None and gpu_allowed(fetch) and self._selector is None:
            scores, labels = self.gpu.search(queries, fetch)
        else:
            params = search_params(self.plan, self.settings, fetch)
            if self._selector is not None:
                params = params or faiss.SearchParameters()
                params.sel = self._selector
            with single_threaded(len(queries) < SINGLE_THREAD_BELOW):
                if self._excluded and self._selector is None:
                    labels = self._search_filtered(queries, k, fetch, params)
                else:
                    scores, labels = self.index.search(queries, fetch, params=params)
        if self.exact is not None:
            return self.exact.rerank(queries, labels, k)
        return scores, labels

    def _search_filtered(self, queries: np.ndarray, k: int, fetch: int,
                         params: faiss.SearchParameters | None) -> np.ndarray:
        """Candidate ids with the excluded ones (-1) taken out, fetching more until each row keeps `k` or the
        probed lists run out; for the re-ranked kinds only (their scores come from the float vectors)."""
        assert self.exact is not None
        excluded = self._excluded
        while True:
            _, labels = self.index.search(queries, fetch, params=params)
            gone = np.fromiter((int(i) in excluded for i in labels.ravel()), bool, labels.size).reshape(labels.shape)
            kept = np.where(gone, -1, labels)
            short = ((kept >= 0).sum(axis=1) < k) & (labels[:, -1] >= 0)  # full rows may hide more
            if not short.any() or fetch >= self.ntotal:
                return kept
            fetch = min(fetch * 4, self.ntotal)

    def refresh_gpu(self) -> None:
        """Rebuild the GPU mirror from the CPU index (after an update), when GPUs are in use."""
        nprobe = probes(self.plan, self.settings) if self.plan.nlist else None
        self.gpu = GpuMirror.create(self.index, self.kind, nprobe, self.settings.use_gpu)
