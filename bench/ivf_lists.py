"""How many IVF lists, and how many to probe: recall@10 against single-query search time at 1M, one run.

    nice -n 10 python bench/ivf_lists.py --n 1000000 --dim 64 --nlist 1000,2000,4000 --json out.json

Two catalogues of clustered unit vectors (`indexing.clustered_vectors`): the one the service benchmark serves
(`bench/api_bench.py`'s content vectors, the "train" catalogue the list rule is chosen on) and a second with
another mixture (fewer, tighter clusters in a smaller subspace: "held-out"), each built at every list count
with the project's own training (`factory.train_index`). Queries are stored vectors, as `similar` asks, each
one's own match left out; recall@10 is against exact inner-product search.

Times are taken query by query in turn across the list counts (one faiss thread, as the service searches),
so a change of load touches every column alike; the table reports each list count's probes against its
median time. Build seconds are measured one after another and say what the machine's load was doing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import faiss
import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing.clustered_vectors import ClusteredGenerator
from vidstyle.indexing.factory import IndexPlan, create_index, single_threaded, train_index

K = 10
PROBES = (8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256)
CATALOGUES = {
    "train (api_bench's content vectors)": {"seed": 1},
    "held-out (another mixture)": {"seed": 11, "n_clusters": 300, "intrinsic_dim": 32, "noise": 0.25},
}


def catalogue(dim: int, n: int, spec: dict) -> np.ndarray:
    spec = dict(spec)
    seed = spec.pop("seed")
    return ClusteredGenerator(dim, seed=seed, **spec).sample(n, seed=seed + 1)


def neighbours_without_self(index_search, queries: np.ndarray, query_ids: np.ndarray) -> np.ndarray:
    _, labels = index_search(queries, K + 1)
    out = np.full((len(queries), K), -1, dtype=np.int64)
    for row, (qid, found) in enumerate(zip(query_ids, labels)):
        kept = [int(x) for x in found if x != qid][:K]
        out[row, : len(kept)] = kept
    return out


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(g[g >= 0])) / K for t, g in zip(truth, got)]))


def build(vectors: np.ndarray, nlist: int, settings: IndexSettings) -> tuple[faiss.Index, float]:
    plan = IndexPlan(kind="ivf_flat", reason="bench", nlist=nlist)
    index = create_index(plan, vectors.shape[1])
    start = time.perf_counter()
    sample = max(settings.train_sample, 64 * nlist)  # 64 points per list at every count
    train_index(index, plan, vectors, settings.model_copy(update={"train_sample": sample}))
    index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    return index, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--nlist", default="1000,2000,4000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    nlists = [int(x) for x in args.nlist.split(",")]
    settings = IndexSettings(use_gpu=False)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, faiss {faiss.__version__}, "
          f"load {os.getloadavg()}", flush=True)
    rows = []
    for name, spec in CATALOGUES.items():
        base = catalogue(args.dim, args.n, spec)
        rng = np.random.default_rng(7)
        qids = np.sort(rng.choice(args.n, args.queries, replace=False))
        queries = base[qids]
        truth = neighbours_without_self(
            lambda q, k, b=base: faiss.knn(q, b, k, metric=faiss.METRIC_INNER_PRODUCT), queries, qids
        )
        indexes = {}
        for nlist in nlists:
            index, build_s = build(base, nlist, settings)
            sizes = np.array([index.invlists.list_size(i) for i in range(nlist)])
            indexes[nlist] = index
            print(f"{name}: nlist {nlist} built in {build_s:.1f} s (imbalance "
                  f"{float((sizes ** 2).sum() * nlist / sizes.sum() ** 2):.2f}), load {os.getloadavg()[0]:.1f}",
                  flush=True)
        for nprobe in PROBES:
            times = {nlist: [] for nlist in nlists}
            params = faiss.SearchParametersIVF(nprobe=nprobe)
            with single_threaded():
                for q in queries:
                    for nlist, index in indexes.items():
                        start = time.perf_counter()
                        index.search(q[None, :], K + 1, params=params)
                        times[nlist].append(time.perf_counter() - start)
                for nlist, index in indexes.items():
                    got = neighbours_without_self(
                        lambda q, k, i=index, p=params: i.search(q, k, params=p), queries, qids
                    )
                    row = {"catalogue": name, "dim": args.dim, "nlist": nlist, "nprobe": nprobe,
                           "recall_at_10": round(recall(truth, got), 4),
                           "p50_ms": round(float(np.median(times[nlist])) * 1e3, 3),
                           "p99_ms": round(float(np.percentile(times[nlist], 99)) * 1e3, 3),
                           "load": round(os.getloadavg()[0], 1)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        del indexes, base
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
