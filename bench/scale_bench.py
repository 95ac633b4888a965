"""Index at catalogue scale, one run on the same vectors: the index ours chooses under a memory budget (IVF fast-scan
or IVF-SQ8 + exact re-ranking from a memory-mapped float file, probes measured for `index.target_recall`), IVF-Flat
and its build cost with faiss's k-means defaults, and autofaiss building under the same budget (its own search
parameters, then a sweep of nprobe or efSearch, so recall can be read at equal latency).

    nice -n 10 python bench/scale_bench.py --n 1000000 --budget-mb 600 --json out.json

autofaiss pins numpy<2, which this project's torch stack cannot take, so it is installed beside it without its
pins (`pip install --no-deps --target DIR autofaiss embedding-reader fire termcolor`) and found with
`--autofaiss-path DIR`; it ran unchanged on numpy 2 here.

Every row: build seconds (train and add apart for ours), single-query p50/p99 (one thread, as the service
searches), recall@10 against exact search, bytes per vector in memory (the index file; the memory mode's float
file stays on disk, paged in by the rows the re-ranking reads). Speed is never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing.clustered_vectors import ClusteredGenerator
from vidstyle.indexing.exact_vectors import ExactVectors
from vidstyle.indexing.factory import RERANK_KINDS, create_index, plan_index, single_threaded, train_index
from vidstyle.indexing.space import SpaceIndex

K = 10


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(g[g >= 0])) / K for t, g in zip(truth, got)]))


def file_bytes(index: faiss.Index) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "i.faiss"
        faiss.write_index(index, str(path))
        return path.stat().st_size


def timed_queries(search, queries: np.ndarray, count: int) -> tuple[float, float, np.ndarray]:
    """p50, p99 ms of one-query calls, and every query's top-k ids."""
    for q in queries[:5]:
        search(q[None, :])
    times, got = [], []
    for i, q in enumerate(queries):
        start = time.perf_counter()
        ids = search(q[None, :])
        if i < count:
            times.append(time.perf_counter() - start)
        got.append(ids[0])
    ms = np.asarray(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), np.stack(got)


def build_ours(base: np.ndarray, settings: IndexSettings, faiss_kmeans: bool) -> tuple[SpaceIndex, float, float]:
    n, dim = base.shape
    plan = plan_index(n, dim, settings)
    index = create_index(plan, dim)
    if faiss_kmeans:  # faiss's defaults, as before
        index.cp.niter, index.cp.max_points_per_centroid = 25, 256
    start = time.perf_counter()
    train_index(index, plan, base, settings)
    train_s = time.perf_counter() - start
    ids = np.arange(n, dtype=np.int64)
    space = SpaceIndex(index, plan, settings)
    start = time.perf_counter()
    space.add(base, ids)
    add_s = time.perf_counter() - start
    if plan.kind in RERANK_KINDS:  # after the add, as a build does: the float vectors are the array itself
        space.exact = ExactVectors.from_vectors(ids, base)
    start = time.perf_counter()
    space.plan = space.tuned(plan, base, ids)  # the probes that reach index.target_recall, as a build measures
    print(f"{plan.description}: train {train_s:.1f} s, add {add_s:.1f} s, probes measured in "
          f"{time.perf_counter() - start:.1f} s: {space.plan.reason[-160:]}", flush=True)
    return space, train_s, add_s


def _positional_opq_matrix() -> None:
    """autofaiss 2.18 calls `faiss.OPQMatrix(d, M=m, d2=d2)`; faiss 1.15's wrapper takes positional arguments only
    (TypeError: unexpected keyword argument 'M'). Pass them on positionally: same matrix, no other change."""
    original = faiss.OPQMatrix
    if getattr(original, "_positional", False):
        return

    def opq_matrix(d: int = 0, M: int = 1, d2: int = -1) -> faiss.OPQMatrix:  # noqa: N803 - autofaiss's names
        return original(d, M, d2)

    opq_matrix._positional = True  # type: ignore[attr-defined]
    faiss.OPQMatrix = opq_matrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--timed", type=int, default=300, help="single queries timed per row")
    parser.add_argument("--budget-mb", type=int, default=600, help="memory budget for the memory mode and autofaiss")
    parser.add_argument("--nprobe", default="8,16,32")
    parser.add_argument("--autofaiss-path", type=Path, help="folder autofaiss was installed into (--target)")
    parser.add_argument("--skip", default="", help="comma-separated: ivf_flat, faiss_kmeans, autofaiss")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    nprobes = [int(x) for x in args.nprobe.split(",")]
    print(f"{os.cpu_count()} CPUs, faiss {faiss.__version__}, load {os.getloadavg()}", flush=True)
    gen = ClusteredGenerator(args.dim, seed=args.dim)
    start = time.perf_counter()
    base, queries = gen.sample(args.n, seed=1), gen.sample(args.queries, seed=2)
    _, truth = faiss.knn(queries, base, K, metric=faiss.METRIC_INNER_PRODUCT)
    print(f"data + ground truth {time.perf_counter() - start:.0f} s", flush=True)
    rows: list[dict] = []

    def report(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    configs = [("ours: auto under the memory budget", IndexSettings(memory_budget_mb=args.budget_mb, use_gpu=False),
                False)]
    if "ivf_flat" not in skip:
        configs.append(("ivf_flat", IndexSettings(index_type="ivf_flat", use_gpu=False), False))
    if "faiss_kmeans" not in skip:
        configs.append(("ivf_flat, faiss k-means defaults", IndexSettings(index_type="ivf_flat", use_gpu=False), True))
    for label, settings, faiss_kmeans in configs:
        space, train_s, add_s = build_ours(base, settings, faiss_kmeans)
        size = file_bytes(space.index) / args.n
        for nprobe in [None, *nprobes] if space.plan.nlist else [None]:  # None: the probes its build measured
            space.settings = settings.model_copy(update={"nprobe": nprobe})
            p50, p99, got = timed_queries(lambda q, s=space: s.search(q, K)[1], queries, args.timed)
            report(
                {
                    "config": label,
                    "index": space.plan.description,
                    "reason": space.plan.reason[:160],
                    "nprobe": nprobe or space.plan.nprobe,
                    "probes": "measured at build" if nprobe is None else "set",
                    "train_s": round(train_s, 1),
                    "add_s": round(add_s, 1),
                    "build_s": round(train_s + add_s, 1),
                    "p50_ms": round(p50, 2),
                    "p99_ms": round(p99, 2),
                    "recall_at_10": round(recall(truth, got), 3),
                    "bytes_per_vector_in_memory": round(size),
                }
            )
        del space

    if "autofaiss" not in skip:
        if args.autofaiss_path:
            sys.path.insert(0, str(args.autofaiss_path))
        from autofaiss import build_index

        _positional_opq_matrix()

        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            index, info = build_index(
                base,
                save_on_disk=False,
                index_path=f"{tmp}/knn.index",
                index_infos_path=f"{tmp}/infos.json",
                max_index_memory_usage=f"{args.budget_mb}MB",
                current_memory_available="6G",
                metric_type="ip",
                verbose=40,
            )
            build_s = time.perf_counter() - start
        size = file_bytes(index) / args.n
        ivf = faiss.try_extract_index_ivf(index)
        hnsw = "HNSW" in str(info.get("index_key")) and ivf is None
        params: list[tuple[str, str | None, int | None]] = [("autofaiss's own", None, None)]
        if ivf is not None:
            params += [(f"nprobe={p}", "nprobe", p) for p in nprobes]
        elif hnsw:
            params += [(f"efSearch={e}", "efSearch", e) for e in (16, 32, 64, 128)]
        for label, name, value in params:
            if name is not None:
                faiss.ParameterSpace().set_index_parameter(index, name, value)

            def search(q: np.ndarray) -> np.ndarray:
                with single_threaded():
                    return index.search(q, K)[1]

            p50, p99, got = timed_queries(search, queries, args.timed)
            report(
                {
                    "config": "autofaiss",
                    "index": info.get("index_key"),
                    "params": info.get("index_param"),
                    "search": label,
                    "build_s": round(build_s, 1),
                    "p50_ms": round(p50, 2),
                    "p99_ms": round(p99, 2),
                    "recall_at_10": round(recall(truth, got), 3),
                    "bytes_per_vector_in_memory": round(size),
                }
            )
    print(f"load {os.getloadavg()}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
