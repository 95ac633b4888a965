"""Which FAISS index to build for n vectors of a given dimension, and how to make and query it.

The choice follows autofaiss: exact search (Flat) as long as its estimated single-query latency stays
inside `latency_budget_ms`; beyond that an approximate index trained on a sample. Estimates use the cost of
scanning one vector, measured once per process and dimension on the machine at hand, so "5 ms" means
5 ms here rather than on the machine someone tuned the thresholds on.

    flat      exact, no training; latency grows with n
    ivf_fastscan  half a byte per dimension (a 4-bit code per dimension, scanned by SIMD table lookups, faiss's
              "fast-scan"), the top candidates re-ranked exactly from the float vectors memory-mapped from
              INDEX_DIR: the recall of IVF-Flat at about half its search time and an eighth of its memory; the
              first choice beyond exact search
    ivf_flat  raw vectors in sqrt(n) lists, nprobe lists scanned; fast to build, real removals, GPU-able
    ivf_sq8   one byte per dimension (4x smaller), the top candidates re-ranked exactly from the float vectors
              memory-mapped from INDEX_DIR: the recall of IVF-Flat; for when raw vectors exceed
              `memory_budget_mb`, or IVF-Flat's scan exceeds the latency budget (wide vectors)
    hnsw      graph; latency nearly flat in n but slow to build (minutes per million on 2 cores) and no
              physical removal (tombstones), so it is the fallback when IVF cannot meet the latency budget
    ivf_pq    product-quantised codes, for when even SQ8 exceeds the budget; re-ranked the same way

All indexes use inner product on L2-normalised vectors, i.e. cosine similarity. Search parameters (nprobe,
efSearch) are passed per query as `faiss.SearchParameters`; the shared index is never mutated to search.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from functools import lru_cache, partial
from typing import Any, Literal

import faiss
import numpy as np

from vidstyle.core.settings import ConfigError, IndexSettings
from vidstyle.indexing.gpu import gpu_clustering_index, gpu_count

log = logging.getLogger(__name__)

IndexKind = Literal["flat", "ivf_fastscan", "ivf_flat", "hnsw", "ivf_sq8", "ivf_pq"]
KINDS: tuple[IndexKind, ...] = ("flat", "ivf_fastscan", "ivf_flat", "hnsw", "ivf_sq8", "ivf_pq")
IVF_KINDS: tuple[IndexKind, ...] = ("ivf_fastscan", "ivf_flat", "ivf_sq8", "ivf_pq")
# Compressed codes rank candidates only roughly: the best RERANK_FACTOR * k (at least RERANK_MIN) are re-scored
# with the exact float vectors, read from a memory-mapped file (a few KB of random reads per query).
RERANK_KINDS: tuple[IndexKind, ...] = ("ivf_fastscan", "ivf_sq8", "ivf_pq")
# Kinds whose removals are tombstones (left out of searches, dropped when a background rebuild makes a fresh index):
# an HNSW graph cannot remove, and after faiss's `remove_ids` on fast-scan lists (codes packed 32 to a block) the
# vectors added later were scored wrongly (52 of 300 found themselves), while rewriting the touched lists instead
# held the write lock for up to 23 s in a 1M compaction (bench/RESULTS.md, "Fast-scan codes").
TOMBSTONE_KINDS: tuple[IndexKind, ...] = ("hnsw", "ivf_fastscan")
RERANK_FACTOR = 4
RERANK_MIN = 50
# With `index.nprobe` unset, a freshly built IVF index probes the fewest lists (PROBE_STEPS, each about 1.4x the
# last) whose recall@10 reaches `index.target_recall`, measured on a sample of its own vectors searched as `similar`
# searches them, against exact search over everything stored (`tune_nprobe`); never more than keep the median
# single-query search within NPROBE_BUDGET_SHARE of the latency budget. Recall rather than time decides because
# probes past the target buy recall nobody asked for with the service's throughput: at 1M x 64 spending a quarter
# of the 5 ms budget took 64 probes (recall 0.992) where 32 reach 0.969 in half the search time
# (bench/RESULTS.md). The type is chosen by its estimate at MIN_NPROBE. autofaiss tunes nprobe to a target too.
MIN_NPROBE = 16
PROBE_STEPS = (8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256)
NPROBE_BUDGET_SHARE = 0.25
RECALL_K = 10
# An SQ8 code is a quarter of a float vector's bytes, but decoding it costs too: on the same lists, query by query
# in turn, IVF-SQ8 (re-ranked) searched 1.22-2.69x faster than IVF-Flat at 1M x 512 (nprobe 8-32) at the same
# recall@10, and 0.70-0.90x as fast at 1M x 64, where the re-ranking's fixed cost outweighs the smaller scan
# (bench/sq8_vs_flat.py, bench/RESULTS.md "IVF-SQ8 against IVF-Flat"). Half a vector per code is the middle.
SQ8_SCAN_FRACTION = 0.5
# A fast-scan code is half a byte per dimension, compared 32 at a time from in-register lookup tables: at 1M x 64,
# query by query in turn on the same lists, IVF-PQ64x4fs with 50 re-ranked candidates searched in 0.44-0.49 of
# IVF-Flat's time at 23-45 probes, with the same recall@10 (bench/RESULTS.md, "Fast-scan codes").
FASTSCAN_SCAN_FRACTION = 0.5
FASTSCAN_BITS = 4
METRIC = faiss.METRIC_INNER_PRODUCT

# k-means wants ~39+ points per centroid (faiss warns below); fewer gives empty or junk lists.
MIN_POINTS_PER_CENTROID = 39
# Below these counts a trained index is pointless (and PQ's 256-centroid codebooks cannot be trained).
MIN_VECTORS_TO_TRAIN: dict[str, int] = {
    "ivf_fastscan": 1_000, "ivf_flat": 1_000, "ivf_sq8": 1_000, "ivf_pq": MIN_POINTS_PER_CENTROID * 256
}
# IVF centroids: 10 k-means iterations on at most 64 points per centroid. faiss's defaults (25 iterations, 256
# points) spent 25 of a 49 s 1M x 512 build training, for no recall at nprobe 16 on the benchmark data
# (bench/RESULTS.md, "Index build").
IVF_TRAIN_ITERATIONS = 10
IVF_POINTS_PER_CENTROID = 64
PQ_BITS = 8
# PQ codebooks: 10 k-means iterations reach the recall of faiss's default 25 (0.956 vs 0.960 in tests) at
# 40% of the cost, and 64 points per centroid (16k vectors) suffice for 256 centroids in a few dimensions.
PQ_TRAIN_ITERATIONS = 10
PQ_POINTS_PER_CENTROID = 64
# Per-vector bookkeeping outside the codes: int64 id, reverse map / direct-map hash entry, id table.
ID_OVERHEAD_BYTES = 48
# HNSW and PQ touch memory in a scattered order; a distance there costs more than in a sequential scan.
RANDOM_ACCESS_FACTOR = 2.0


# Fewer queries than this run on the calling thread alone. An OpenMP parallel region for one query costs
# more than it saves, and far more on a busy machine: one 20k x 64 Flat query took 16 ms with 2 threads
# and 0.3 ms with 1 on the 2-core benchmark VM under load. Concurrency comes from concurrent requests.
SINGLE_THREAD_BELOW = 20


@contextlib.contextmanager
def single_threaded(active: bool = True) -> Iterator[None]:
    """Run faiss on the calling thread only; OpenMP thread counts are per thread, others are unaffected."""
    if not active:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


@dataclass(frozen=True)
class IndexPlan:
    """The chosen index type and the parameters it is built with, plus why (stored in the manifest)."""

    kind: IndexKind
    reason: str
    nlist: int = 0
    pq_bytes: int = 0
    hnsw_m: int = 0
    ef_construction: int = 0
    nprobe: int = 0  # IVF lists probed per query unless `index.nprobe` says otherwise (0: not tuned, MIN_NPROBE)
    est_latency_ms: float = 0.0
    est_memory_mb: float = 0.0

    @property
    def description(self) -> str:
        """A faiss index_factory-style string, for logs and the manifest."""
        return {
            "flat": "IDMap2,Flat",
            "ivf_fastscan": f"IVF{self.nlist},PQ{2 * self.pq_bytes}x{FASTSCAN_BITS}fs",  # a 4-bit code per dimension
            "ivf_flat": f"IVF{self.nlist},Flat",
            "hnsw": f"IDMap2,HNSW{self.hnsw_m},Flat",
            "ivf_sq8": f"IVF{self.nlist},SQ8",
            "ivf_pq": f"IVF{self.nlist},PQ{self.pq_bytes}x{PQ_BITS}",
        }[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "description": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexPlan:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**fields)


def tune_nprobe(
    plan: IndexPlan,
    settings: IndexSettings,
    search: Callable[[np.ndarray, int], np.ndarray],
    queries: np.ndarray,
    query_ids: np.ndarray,
    truth: np.ndarray,
) -> IndexPlan:
    """The plan with the fewest probes (PROBE_STEPS) whose recall@10 reaches `settings.target_recall`, within
    NPROBE_BUDGET_SHARE of the latency budget; unchanged unless an untuned IVF plan.

    `search(one_query, nprobe)` returns the ids of the best RECALL_K + 1 stored vectors; `truth[i]` holds the
    exact top RECALL_K ids of `queries[i]`, its own id `query_ids[i]` left out (a query finds itself).
    """
    if plan.kind not in IVF_KINDS or plan.nprobe or settings.nprobe is not None or not len(queries):
        return plan
    budget_s = NPROBE_BUDGET_SHARE * settings.latency_budget_ms / 1000
    steps = [p for p in PROBE_STEPS if p <= plan.nlist] or [plan.nlist]
    chosen: tuple[int, float, float] | None = None
    for nprobe in steps:
        median_s, found = _timed_searches(search, queries, nprobe)
        if chosen is not None and median_s > budget_s:
            break
        chosen = (nprobe, recall_at_k(truth, found, query_ids), median_s)
        if chosen[1] >= settings.target_recall:
            break
    assert chosen is not None
    nprobe, recall, median_s = chosen
    measured = (f"recall@{RECALL_K} {recall:.3f} on {len(queries)} of its vectors, "
                f"median search {median_s * 1000:.2f} ms")
    if recall >= settings.target_recall:
        why = f"the fewest reaching the target recall {settings.target_recall:g}: {measured}"
    elif median_s > budget_s:
        why = f"the least, over a quarter of the latency budget already: {measured}"
    else:
        why = (f"the most within a quarter of the latency budget, short of the target recall "
               f"{settings.target_recall:g}: {measured}")
    return replace(plan, nprobe=nprobe, reason=f"{plan.reason}; {nprobe} lists probed ({why})")


def _timed_searches(search: Callable[[np.ndarray, int], np.ndarray], queries: np.ndarray,
                    nprobe: int) -> tuple[float, np.ndarray]:
    """Median seconds of single-query searches, and every query's ids."""
    times, found = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(search(q[None, :], nprobe)[0])
        times.append(time.perf_counter() - start)
    return float(np.median(times)), np.stack(found)


def recall_at_k(truth: np.ndarray, found: np.ndarray, query_ids: np.ndarray) -> float:
    """Mean share of each row of `truth` (k ids) among the first k of `found` other than the query's own id."""
    k = truth.shape[1]
    shares = []
    for want, got, own in zip(truth, found, query_ids):
        kept = [int(x) for x in got if x >= 0 and x != own][:k]
        shares.append(len(set(kept) & set(want.tolist())) / k)
    return float(np.mean(shares)) if shares else 0.0


def probes(plan: IndexPlan, settings: IndexSettings) -> int:
    """IVF lists a query probes: `index.nprobe` when set, else the plan's, never more than the lists."""
    return min(settings.nprobe or plan.nprobe or MIN_NPROBE, max(plan.nlist, 1))


def default_nlist(n: int, n_train: int) -> int:
    """sqrt(n) lists: balances the centroid scan against the list scan, and keeps 1M builds under a minute.

    (4*sqrt(n), autofaiss's choice, trains 4x longer and needs 4x the sample; on 2 cores that alone
    exceeds the 60 s build target at 1M.)
    """
    return max(1, min(round(math.sqrt(n)), n_train // MIN_POINTS_PER_CENTROID))


def train_size(n: int, settings: IndexSettings) -> int:
    return min(n, settings.train_sample)


def pq_candidates(dim: int) -> list[int]:
    """Code sizes (bytes = sub-quantisers) that divide `dim`, largest first.

    Up to one byte per dimension (4x smaller than float32): on embeddings whose top-10 neighbours lie
    within a few hundredths of cosine, coarser codes lose recall fast (0.88 at dim/2 bytes vs 0.96 at dim
    bytes on the synthetic benchmark data), so the largest code that fits the memory budget wins.
    """
    return [m for m in range(dim, 0, -1) if dim % m == 0]


@lru_cache(maxsize=16)
def flat_seconds_per_vector(dim: int, repeats: int = 15) -> float:
    """Median time to score one stored vector in a single-query exact scan, measured here and now.

    The probe holds 32 MB of vectors, more than CPU caches, since large indexes are memory-bound.
    """
    sample = max(4096, 2**23 // dim)
    rng = np.random.default_rng(0)
    base = rng.random((sample, dim), dtype=np.float32)
    index = faiss.IndexFlatIP(dim)
    index.add(base)
    queries = rng.random((repeats, dim), dtype=np.float32)
    with single_threaded():  # as single queries run
        index.search(queries[:1], 10)  # warm caches
        times = []
        for q in queries:
            start = time.perf_counter()
            index.search(q[None, :], 10)
            times.append(time.perf_counter() - start)
    return float(np.median(times)) / sample


def estimate_memory_bytes(kind: IndexKind, n: int, dim: int, *, nlist: int, pq_bytes: int, hnsw_m: int) -> int:
    raw = 4 * dim
    per_vector = {
        "flat": raw,
        "ivf_fastscan": dim // 2,
        "ivf_flat": raw,
        "hnsw": raw + 2 * hnsw_m * 4 * 1.05,  # level-0 links (2M int32) plus ~5% upper levels
        "ivf_sq8": dim,
        "ivf_pq": pq_bytes,
    }[kind] + ID_OVERHEAD_BYTES
    fixed = {"flat": 0, "ivf_fastscan": nlist * raw, "ivf_flat": nlist * raw, "hnsw": 0, "ivf_sq8": nlist * raw,
             "ivf_pq": nlist * raw + 256 * raw}[kind]
    return int(n * per_vector + fixed)


def estimate_latency_s(
    kind: IndexKind, n: int, dim: int, settings: IndexSettings, *, nlist: int, pq_bytes: int, s_per_vector: float
) -> float:
    """Vectors (or vector-equivalents) touched by one query, times the measured cost of one.

    Checked against bench/index_bench.py (100k vectors, 512 and 1920 dims): within 1.4x of the measured
    median for IVF-Flat, HNSW and IVF-PQ, on the conservative side.
    """
    nprobe = min(settings.nprobe or MIN_NPROBE, max(nlist, 1))  # a plan's own probes are measured after its build
    scanned = n * nprobe / max(nlist, 1)
    touched = {
        "flat": n,
        "ivf_flat": nlist + scanned,
        "ivf_fastscan": nlist + FASTSCAN_SCAN_FRACTION * scanned + RANDOM_ACCESS_FACTOR * RERANK_MIN,
        # ~ef*M/4 distances (most neighbours are already visited), each a random access
        "hnsw": RANDOM_ACCESS_FACTOR * settings.ef_search * settings.hnsw_m / 4,
        # centroid scan + the query's 256-entry lookup tables (once) + m byte lookups per scanned code
        # codes decoded per scanned vector, then the re-ranked candidates read at random from the float file
        "ivf_sq8": nlist + SQ8_SCAN_FRACTION * scanned + RANDOM_ACCESS_FACTOR * RERANK_MIN,
        "ivf_pq": nlist + 256 + RANDOM_ACCESS_FACTOR * (scanned * pq_bytes / dim + RERANK_MIN),
    }[kind]
    return touched * s_per_vector


def _choose_pq_bytes(
    dim: int, settings: IndexSettings, fits: Callable[[int], bool], fast: Callable[[int], bool]
) -> int:
    """The configured code size, else the largest that fits both budgets, else the fastest that fits memory.

    Larger codes give better recall but cost memory, search time (one lookup per byte) and build time
    (one k-means per byte); 1920 one-byte codes would take ~60 ms per query at 1M vectors.
    """
    if settings.pq_bytes is not None:
        if dim % settings.pq_bytes:
            raise ConfigError(f"index.pq_bytes={settings.pq_bytes} must divide the dimension {dim}")
        return settings.pq_bytes
    candidates = pq_candidates(dim)
    in_memory = [m for m in candidates if fits(m)] or candidates[-1:]
    return next((m for m in in_memory if fast(m)), in_memory[-1])


def plan_index(n: int, dim: int, settings: IndexSettings, s_per_vector: float | None = None) -> IndexPlan:
    """Pick the index type for `n` vectors of `dim` under the memory and latency budgets in `settings`.

    `s_per_vector` is the cost of scanning one vector; None measures it (see `flat_seconds_per_vector`).
    """
    if s_per_vector is None:
        s_per_vector = flat_seconds_per_vector(dim)
    budget_bytes = settings.memory_budget_mb * 2**20
    budget_s = settings.latency_budget_ms / 1000
    nlist = settings.nlist or default_nlist(n, train_size(n, settings))

    def plan(kind: IndexKind, reason: str, pq_bytes: int = 0) -> IndexPlan:
        memory = estimate_memory_bytes(kind, n, dim, nlist=nlist, pq_bytes=pq_bytes, hnsw_m=settings.hnsw_m)
        nprobe = (settings.nprobe or 0) if kind in IVF_KINDS else 0  # 0: measured after the build
        latency = estimate_latency_s(kind, n, dim, settings, nlist=nlist, pq_bytes=pq_bytes, s_per_vector=s_per_vector)
        return IndexPlan(
            kind=kind,
            reason=reason,
            nlist=nlist if kind in IVF_KINDS else 0,
            pq_bytes=pq_bytes,
            hnsw_m=settings.hnsw_m if kind == "hnsw" else 0,
            ef_construction=settings.ef_construction if kind == "hnsw" else 0,
            nprobe=nprobe,
            est_latency_ms=round(latency * 1000, 3),
            est_memory_mb=round(memory / 2**20, 1),
        )

    def ms(kind: IndexKind, pq_bytes: int = 0) -> str:
        lat = estimate_latency_s(kind, n, dim, settings, nlist=nlist, pq_bytes=pq_bytes, s_per_vector=s_per_vector)
        return f"{lat * 1000:.2f} ms"

    def fits(kind: IndexKind, pq_bytes: int = 0) -> bool:
        mem = estimate_memory_bytes(kind, n, dim, nlist=nlist, pq_bytes=pq_bytes, hnsw_m=settings.hnsw_m)
        return mem <= budget_bytes

    def fast(kind: IndexKind, pq_bytes: int = 0) -> bool:
        lat = estimate_latency_s(kind, n, dim, settings, nlist=nlist, pq_bytes=pq_bytes, s_per_vector=s_per_vector)
        return lat <= budget_s

    budgets = f"(budgets {settings.latency_budget_ms:g} ms, {settings.memory_budget_mb} MB)"
    if settings.index_type != "auto":
        kind: IndexKind = settings.index_type
        if kind in MIN_VECTORS_TO_TRAIN and n < MIN_VECTORS_TO_TRAIN[kind]:
            return plan("flat", f"{kind} forced by config, but {n} vectors are too few to train it; exact search")
        if kind == "ivf_fastscan" and dim % 2:
            raise ConfigError(f"index.index_type=ivf_fastscan needs an even dimension, not {dim}: use ivf_flat")
        pq = (
            _choose_pq_bytes(dim, settings, partial(fits, "ivf_pq"), partial(fast, "ivf_pq")) if kind == "ivf_pq"
            else dim // 2 if kind == "ivf_fastscan" else 0
        )
        return plan(kind, f"forced by config index.index_type={kind}", pq)

    if fits("flat") and fast("flat"):
        return plan("flat", f"exact search: {n} vectors, estimated {ms('flat')} per query {budgets}")
    too_slow = f"exact search estimated {ms('flat')} per query" if fits("flat") else "raw vectors exceed memory"
    fastscan = dim // 2  # code bytes
    if n < MIN_VECTORS_TO_TRAIN["ivf_fastscan"]:
        if fits("hnsw"):
            return plan("hnsw", f"{too_slow} {budgets}; too few vectors ({n}) to train IVF; HNSW needs no training")
        return plan("flat", f"{too_slow} {budgets}; too few vectors ({n}) to train a compressed index; exact search")
    scan = (f"IVF fast-scan nlist={nlist} ({fastscan} B per vector in memory) with the top candidates re-ranked "
            f"exactly from the float vectors memory-mapped from INDEX_DIR, estimated {ms('ivf_fastscan', fastscan)}")
    if settings.use_gpu and gpu_count() and fits("ivf_flat") and fast("ivf_flat"):
        return plan("ivf_flat", f"{too_slow} {budgets}; IVF-Flat nlist={nlist} estimated {ms('ivf_flat')} on the CPU, "
                    "searched on the GPUs faiss sees (fast-scan codes have no GPU version)")
    if dim % 2 == 0 and fits("ivf_fastscan", fastscan):  # codes are packed two to a byte
        if fast("ivf_fastscan", fastscan):
            return plan(
                "ivf_fastscan",
                f"{too_slow} {budgets}; {scan} (the recall of IVF-Flat in about half its search time; preferred "
                "to HNSW: builds in a fraction of the time)",
                fastscan,
            )
        if fits("hnsw") and fast("hnsw"):
            return plan(
                "hnsw",
                f"{too_slow} {budgets}; IVF fast-scan estimated {ms('ivf_fastscan', fastscan)}, over budget; "
                f"HNSW M={settings.hnsw_m} efSearch={settings.ef_search} estimated {ms('hnsw')}",
            )
        return plan("ivf_fastscan", f"{too_slow} {budgets}; no type meets the latency budget; {scan}, the closest",
                    fastscan)
    if fits("ivf_flat"):
        return plan("ivf_flat", f"{too_slow} {budgets}; IVF-Flat nlist={nlist} estimated {ms('ivf_flat')} (fast-scan "
                    "codes pack two dimensions to a byte: an odd dimension takes none)")
    if n < MIN_VECTORS_TO_TRAIN["ivf_pq"]:
        return plan("flat", f"raw vectors exceed memory {budgets}, but {n} are too few to train PQ; exact search")
    pq = _choose_pq_bytes(dim, settings, partial(fits, "ivf_pq"), partial(fast, "ivf_pq"))
    over = "" if fits("ivf_pq", pq) else "; even the smallest code exceeds the memory budget"
    return plan(
        "ivf_pq",
        f"raw vectors ({4 * dim} B each) exceed the memory budget {budgets}; IVF-PQ nlist={nlist} with "
        f"{pq}-byte codes, estimated {ms('ivf_pq', pq)}{over}",
        pq,
    )


def create_index(plan: IndexPlan, dim: int) -> faiss.Index:
    """An empty index for `plan` that takes caller-chosen int64 ids (`add_with_ids`) and can `reconstruct`."""
    if plan.kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if plan.kind == "ivf_fastscan":
        # Fast-scan codes need an L2 quantizer and metric; on unit vectors L2 ranks as inner product does, and
        # the re-ranking gives back exact inner products.
        l2_quantizer = faiss.IndexFlatL2(dim)
        index = faiss.IndexIVFPQFastScan(l2_quantizer, dim, plan.nlist, dim, FASTSCAN_BITS, faiss.METRIC_L2)
        index.pq.cp.niter = PQ_TRAIN_ITERATIONS
        index.pq.cp.max_points_per_centroid = PQ_POINTS_PER_CENTROID
        return _with_ivf_training(index, l2_quantizer)
    if plan.kind == "hnsw":
        graph = faiss.IndexHNSWFlat(dim, plan.hnsw_m, METRIC)
        graph.hnsw.efConstruction = plan.ef_construction
        return faiss.IndexIDMap2(graph)
    quantizer = faiss.IndexFlatIP(dim)
    if plan.kind == "ivf_flat":
        index = faiss.IndexIVFFlat(quantizer, dim, plan.nlist, METRIC)
    elif plan.kind == "ivf_sq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, plan.nlist, faiss.ScalarQuantizer.QT_8bit, METRIC)
    else:
        index = faiss.IndexIVFPQ(quantizer, dim, plan.nlist, plan.pq_bytes, PQ_BITS, METRIC)
        index.pq.cp.niter = PQ_TRAIN_ITERATIONS
        index.pq.cp.max_points_per_centroid = PQ_POINTS_PER_CENTROID
    return _with_ivf_training(index, quantizer)


def _with_ivf_training(index: faiss.IndexIVF, quantizer: faiss.Index) -> faiss.IndexIVF:
    index.cp.spherical = True  # unit-norm centroids: inner-product assignment == nearest centroid
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.cp.max_points_per_centroid = IVF_POINTS_PER_CENTROID
    # An IVF index keeps the caller's ids itself; the hash direct map lets reconstruct() and
    # remove_ids() find a vector by id without scanning every list.
    index.own_fields = True
    quantizer.this.disown()
    return index


def needs_training(plan: IndexPlan) -> bool:
    return plan.kind in IVF_KINDS


def train_index(index: faiss.Index, plan: IndexPlan, vectors: np.ndarray, settings: IndexSettings) -> None:
    """Train IVF centroids (and PQ codebooks) on a seeded random sample of `vectors`."""
    if not needs_training(plan):
        return
    n = len(vectors)
    size = train_size(n, settings)
    rng = np.random.default_rng(0)
    sample = vectors if size >= n else vectors[np.sort(rng.choice(n, size, replace=False))]
    start = time.perf_counter()
    clustering = gpu_clustering_index(index.d) if settings.use_gpu else None
    if clustering is not None:
        index.clustering_index = clustering
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    if clustering is not None:
        index.clustering_index = None
    if plan.kind == "ivf_fastscan":
        ready_to_encode(index, plan)  # no direct map: blocked lists take none; vectors come from the file
    else:
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
    log.info("trained %s on %d vectors in %.1f s", plan.description, size, time.perf_counter() - start)


def ready_to_encode(index: faiss.Index, plan: IndexPlan) -> None:
    """Make a trained index's derived encoding tables, which faiss neither saves nor rebuilds on read.

    Fast-scan: one 16-entry codebook per dimension; encoding through the transposed table is 4x faster (1M x 512
    would otherwise take ~40 s to add; 2.5x at 20k x 256 after a load without it), and the service adds to, and
    folds its writes into, loaded indexes only."""
    if plan.kind == "ivf_fastscan":
        index.pq.sync_transposed_centroids()


def search_params(plan: IndexPlan, settings: IndexSettings, k: int) -> faiss.SearchParameters | None:
    """Per-query parameters; `sel` (tombstones) is added by the caller when needed."""
    if plan.kind in IVF_KINDS:
        return faiss.SearchParametersIVF(nprobe=probes(plan, settings))
    if plan.kind == "hnsw":
        return faiss.SearchParametersHNSW(efSearch=max(settings.ef_search, k))
    return None
