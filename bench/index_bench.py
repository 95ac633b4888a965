"""Index benchmark: build time, single-query latency, batched QPS, recall@10 and bytes per vector.

For each case (n vectors x dim) and each index type (Flat, IVF-Flat, HNSW, IVF-PQ), built through the same
code the service uses (`indexing.space.SpaceIndex`), on clustered synthetic unit vectors
(`indexing.synthetic`), with recall measured against exact search. Also prints which type the automatic
choice (`indexing.factory.plan_index`, default budgets) would take for the case, and a parameter sweep
(nprobe / efSearch) to show the recall-latency trade-off.

    python bench/index_bench.py                                  # the RESULTS.md run
    python bench/index_bench.py --cases 20000x64 --types ivf_flat,hnsw --queries 100 --pq-bytes 32
    python bench/index_bench.py --cases 1000000x512 --skip hnsw@1000000 --json out.json

Latency is wall time of one `SpaceIndex.search` call (faiss plus per-query parameters; IndexSet adds a few
microseconds of id translation). Speed is never asserted; the machine and its load are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing.clustered_vectors import ClusteredGenerator
from vidstyle.indexing.factory import flat_seconds_per_vector, plan_index
from vidstyle.indexing.space import SpaceIndex

K = 10


@dataclass
class Row:
    n: int
    dim: int
    kind: str
    description: str
    params: str
    build_s: float
    p50_ms: float
    p99_ms: float
    batch_qps: float
    recall_at_10: float
    bytes_per_vector: float


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(g)) / K for t, g in zip(truth, got)]))


def single_query_ms(space: SpaceIndex, queries: np.ndarray, count: int) -> tuple[float, float]:
    for q in queries[:3]:  # warm-up
        space.search(q[None, :], K)
    times = []
    for q in queries[:count]:
        start = time.perf_counter()
        space.search(q[None, :], K)
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def serialized_bytes(space: SpaceIndex) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.faiss"
        faiss.write_index(space.index, str(path))
        return path.stat().st_size


def sweep_settings(kind: str, base: IndexSettings, args: argparse.Namespace) -> list[tuple[str, IndexSettings]]:
    if kind in ("ivf_flat", "ivf_pq"):
        return [(f"nprobe={p}", base.model_copy(update={"nprobe": p})) for p in args.nprobe]
    if kind == "hnsw":
        return [(f"efSearch={e}", base.model_copy(update={"ef_search": e})) for e in args.ef_search]
    return [("exact", base)]


def run_case(n: int, dim: int, args: argparse.Namespace) -> list[Row]:
    print(f"\n## {n} x {dim}", flush=True)
    gen = ClusteredGenerator(dim, seed=dim)
    start = time.perf_counter()
    base = gen.sample(n, seed=1)
    queries = gen.sample(args.queries, seed=2)
    print(f"data: {time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    _, truth = faiss.knn(queries, base, K, metric=faiss.METRIC_INNER_PRODUCT)
    print(f"ground truth (exact, batched): {time.perf_counter() - start:.1f} s", flush=True)
    auto = plan_index(n, dim, IndexSettings(), flat_seconds_per_vector(dim))
    print(f"auto choice (default budgets): {auto.description}: {auto.reason}", flush=True)
    ids = np.arange(n, dtype=np.int64)
    rows = []
    for kind in args.types:
        if f"{kind}@{n}" in args.skip or f"{kind}@{n}x{dim}" in args.skip:
            print(f"{kind}: skipped", flush=True)
            continue
        update: dict[str, object] = {"index_type": kind, "use_gpu": False}
        if kind == "ivf_pq":
            update["pq_bytes"] = args.pq_bytes
        settings = IndexSettings(**update)
        start = time.perf_counter()
        space = SpaceIndex.build(base, ids, settings)
        build_s = time.perf_counter() - start
        size = serialized_bytes(space) / n
        for label, params in sweep_settings(kind, settings, args):
            space.settings = params
            single = args.single_flat if kind == "flat" else args.single
            p50, p99 = single_query_ms(space, queries, single)
            start = time.perf_counter()
            _, got = space.search(queries, K)
            qps = len(queries) / (time.perf_counter() - start)
            row = Row(n, dim, kind, space.plan.description, label, build_s, p50, p99, qps, recall(truth, got), size)
            rows.append(row)
            print(
                f"| {n} | {dim} | {row.description} | {label} | {build_s:.1f} | {p50:.2f} | {p99:.2f} | "
                f"{qps:.0f} | {row.recall_at_10:.3f} | {size:.0f} |",
                flush=True,
            )
        del space
    return rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="100000x512,100000x1920,1000000x512", help="NxDIM, comma-separated")
    parser.add_argument("--types", default="flat,ivf_flat,hnsw,ivf_pq")
    parser.add_argument("--skip", default="hnsw@1000000", help="KIND@N or KIND@NxDIM to leave out")
    parser.add_argument("--queries", type=int, default=500, help="queries for recall and batched QPS")
    parser.add_argument("--single", type=int, default=300, help="single queries timed per approximate type")
    parser.add_argument("--single-flat", type=int, default=30, help="single queries timed for Flat")
    parser.add_argument("--nprobe", default="16,32,64", help="IVF sweep")
    parser.add_argument("--ef-search", default="64,128", help="HNSW sweep")
    parser.add_argument("--pq-bytes", type=int, default=128, help="IVF-PQ code size (must divide every dim)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    args.cases = [tuple(int(x) for x in case.split("x")) for case in args.cases.split(",") if case]
    args.types = [t for t in args.types.split(",") if t]
    args.skip = set(filter(None, args.skip.split(",")))
    args.nprobe = [int(x) for x in args.nprobe.split(",")]
    args.ef_search = [int(x) for x in args.ef_search.split(",")]
    return args


def main() -> None:
    args = parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, faiss {faiss.__version__}, load {os.getloadavg()}")
    print("| n | dim | index | search params | build s | p50 ms | p99 ms | batch QPS | recall@10 | bytes/vector |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows: list[Row] = []
    start = time.perf_counter()
    for n, dim in args.cases:
        rows += run_case(n, dim, args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s, load {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
