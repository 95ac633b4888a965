"""IVF-Flat, IVF-SQ8 and IVF fast-scan (both re-ranked exactly) on the same coarse lists, timed query by query in
turn, so a change of the machine's load hits all alike; and the list balance of our k-means against faiss's defaults.

    python bench/ivf_codes.py --n 1000000 --dim 512 --json out.json

Why: the index chooser takes fast-scan codes (half a byte per dimension) with re-ranking from the memory-mapped
float vectors as its first approximate index, on the grounds that it scans fewer bytes for the same recall; runs
of the types built one after the other on a shared machine cannot show the ratio. Here every index shares one
trained quantizer (the same lists, the same vectors probed), and every query runs on each in turn.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import faiss
import numpy as np
from scale_bench import K, recall

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing.clustered_vectors import ClusteredGenerator
from vidstyle.indexing.exact_vectors import ExactVectors
from vidstyle.indexing.factory import (
    FASTSCAN_BITS,
    METRIC,
    PQ_POINTS_PER_CENTROID,
    PQ_TRAIN_ITERATIONS,
    create_index,
    plan_index,
    single_threaded,
    train_index,
)
from vidstyle.indexing.space import SpaceIndex


def spaces(base: np.ndarray, settings: IndexSettings) -> tuple[dict[str, SpaceIndex], float]:
    """IVF-Flat, IVF-SQ8 and IVF fast-scan over one trained quantizer's lists, and their imbalance."""
    n, dim = base.shape
    plans = {kind: plan_index(n, dim, settings.model_copy(update={"index_type": kind}))
             for kind in ("ivf_flat", "ivf_sq8", "ivf_fastscan")}
    flat = create_index(plans["ivf_flat"], dim)
    train_index(flat, plans["ivf_flat"], base, settings)  # our k-means: the lists every index uses
    nlist, sample = plans["ivf_flat"].nlist, base[:: max(1, n // 100_000)]
    sq8 = faiss.IndexIVFScalarQuantizer(flat.quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, METRIC)
    sq8.train(sample)  # the quantizer is trained already: only the 8-bit codec
    sq8.set_direct_map_type(faiss.DirectMap.Hashtable)
    # Fast-scan wants an L2 quantizer: the same unit centroids give the same lists (L2 and inner product agree).
    l2 = faiss.IndexFlatL2(dim)
    l2.add(flat.quantizer.reconstruct_n(0, nlist))
    fastscan = faiss.IndexIVFPQFastScan(l2, dim, nlist, dim, FASTSCAN_BITS, faiss.METRIC_L2)
    fastscan.pq.cp.niter, fastscan.pq.cp.max_points_per_centroid = PQ_TRAIN_ITERATIONS, PQ_POINTS_PER_CENTROID
    fastscan.train(sample)  # only the 4-bit codebooks
    fastscan.pq.sync_transposed_centroids()
    ids = np.arange(n, dtype=np.int64)
    indexes = {"ivf_flat": flat, "ivf_sq8": sq8, "ivf_fastscan": fastscan}
    for index in indexes.values():
        index.add_with_ids(base, ids)
    exact = ExactVectors.from_vectors(ids, base)
    built = {kind: SpaceIndex(index, plans[kind], settings, exact=None if kind == "ivf_flat" else exact)
             for kind, index in indexes.items()}
    return built, float(flat.invlists.imbalance_factor())  # the others keep flat (and its quantizer) alive


def faiss_default_imbalance(base: np.ndarray, nlist: int) -> float:
    dim = base.shape[1]
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, METRIC)
    index.cp.niter, index.cp.max_points_per_centroid = 25, 256
    index.train(base[: min(len(base), 100_000)])
    index.add(base)
    return float(index.invlists.imbalance_factor())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--nprobe", default="8,16,32")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, faiss {faiss.__version__}, load {os.getloadavg()}", flush=True)
    gen = ClusteredGenerator(args.dim, seed=args.dim)
    base, queries = gen.sample(args.n, seed=1), gen.sample(args.queries, seed=2)
    _, truth = faiss.knn(queries, base, K, metric=faiss.METRIC_INNER_PRODUCT)
    settings = IndexSettings(use_gpu=False)
    built, imbalance = spaces(base, settings)
    nlist = built["ivf_flat"].plan.nlist
    rows: list[dict] = [{"ours_imbalance_factor": round(imbalance, 3),
                         "faiss_defaults_imbalance_factor": round(faiss_default_imbalance(base, nlist), 3)}]
    print(json.dumps(rows[0]), flush=True)
    for nprobe in [int(x) for x in args.nprobe.split(",")]:
        for space in built.values():
            space.settings = settings.model_copy(update={"nprobe": nprobe})
        times: dict[str, list[float]] = {kind: [] for kind in built}
        got: dict[str, list[np.ndarray]] = {kind: [] for kind in built}
        for q in queries:
            for kind, space in built.items():
                start = time.perf_counter()
                with single_threaded():
                    ids = space.search(q[None, :], K)[1]
                times[kind].append(time.perf_counter() - start)
                got[kind].append(ids[0])
        row: dict = {"nprobe": nprobe, "load": round(os.getloadavg()[0], 1)}
        for kind in times:
            ms = np.asarray(times[kind]) * 1e3
            row[kind] = {"p50_ms": round(float(np.percentile(ms, 50)), 3),
                         "p99_ms": round(float(np.percentile(ms, 99)), 3),
                         "recall_at_10": round(recall(truth, np.stack(got[kind])), 3)}
        row["flat_over_sq8_p50"] = round(row["ivf_flat"]["p50_ms"] / row["ivf_sq8"]["p50_ms"], 2)
        row["flat_over_fastscan_p50"] = round(row["ivf_flat"]["p50_ms"] / row["ivf_fastscan"]["p50_ms"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"load {os.getloadavg()}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
