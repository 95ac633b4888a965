"""IVF-SQ8 with exact re-ranking against IVF-Flat on the same coarse quantizer, timed query by query in turn, so a
change of the machine's load hits both alike; and the list balance of our k-means against faiss's defaults.

    python bench/sq8_vs_flat.py --n 1000000 --dim 512 --json out.json

Why: the index chooser prefers IVF-SQ8 (plus re-ranking from the memory-mapped float vectors) to IVF-Flat on the
grounds that it scans a quarter of the bytes for the same recall; runs of the two built one after the other on a
shared machine cannot show the ratio. Here both indexes share one trained quantizer (the same lists, the same
vectors probed), and every query runs on each in turn.
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
from vidstyle.indexing.factory import METRIC, create_index, plan_index, single_threaded, train_index
from vidstyle.indexing.space import SpaceIndex


def spaces(base: np.ndarray, settings: IndexSettings) -> tuple[SpaceIndex, SpaceIndex, float]:
    """IVF-Flat and IVF-SQ8 over one trained quantizer, and that quantizer's list imbalance."""
    n, dim = base.shape
    flat_plan = plan_index(n, dim, settings.model_copy(update={"index_type": "ivf_flat"}))
    sq8_plan = plan_index(n, dim, settings.model_copy(update={"index_type": "ivf_sq8"}))
    flat = create_index(flat_plan, dim)
    train_index(flat, flat_plan, base, settings)  # our k-means: the lists both indexes use
    sq8 = faiss.IndexIVFScalarQuantizer(flat.quantizer, dim, sq8_plan.nlist, faiss.ScalarQuantizer.QT_8bit, METRIC)
    sq8.train(base[:: max(1, n // 100_000)])  # the quantizer is trained already: only the 8-bit codec
    sq8.set_direct_map_type(faiss.DirectMap.Hashtable)
    ids = np.arange(n, dtype=np.int64)
    for index in (flat, sq8):
        index.add_with_ids(base, ids)
    flat_space = SpaceIndex(flat, flat_plan, settings)
    sq8_space = SpaceIndex(sq8, sq8_plan, settings, exact=ExactVectors.from_vectors(ids, base))
    return flat_space, sq8_space, float(flat.invlists.imbalance_factor())  # sq8 keeps flat (and its quantizer)


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
    flat, sq8, imbalance = spaces(base, settings)
    rows: list[dict] = [{"ours_imbalance_factor": round(imbalance, 3),
                         "faiss_defaults_imbalance_factor": round(faiss_default_imbalance(base, flat.plan.nlist), 3)}]
    print(json.dumps(rows[0]), flush=True)
    for nprobe in [int(x) for x in args.nprobe.split(",")]:
        for space in (flat, sq8):
            space.settings = settings.model_copy(update={"nprobe": nprobe})
        times: dict[str, list[float]] = {"ivf_flat": [], "ivf_sq8": []}
        got: dict[str, list[np.ndarray]] = {"ivf_flat": [], "ivf_sq8": []}
        for q in queries:
            for name, space in (("ivf_flat", flat), ("ivf_sq8", sq8)):
                start = time.perf_counter()
                with single_threaded():
                    ids = space.search(q[None, :], K)[1]
                times[name].append(time.perf_counter() - start)
                got[name].append(ids[0])
        row = {"nprobe": nprobe}
        for name in times:
            ms = np.asarray(times[name]) * 1e3
            row[name] = {"p50_ms": round(float(np.percentile(ms, 50)), 3),
                         "p99_ms": round(float(np.percentile(ms, 99)), 3),
                         "recall_at_10": round(recall(truth, np.stack(got[name])), 3)}
        row["flat_over_sq8_p50"] = round(row["ivf_flat"]["p50_ms"] / row["ivf_sq8"]["p50_ms"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"load {os.getloadavg()}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
