"""Write-path benchmark: add and delete latency on a tiny index and on large ones, in one run.

For each size an `IndexSet` (content 512-d, style `--style-dim`) of clustered unit vectors is built, saved to a
temp INDEX_DIR and reopened writable, as the service does; then `--writes` adds of new videos alternate with
deletes of stored ones, each timed from the call to its return (log record fsynced, delta and id table updated):
what `POST /v1/videos` and `DELETE` cost beyond the model's embedding. Then one compaction (`save`) is timed, with
a thread writing meanwhile, to show what a write waits while the fold holds the lock. With `--old-writes N`, the
previous write path (rewrite the index files after each write) is timed N times too, for comparison.

    nice -n 10 python bench/write_bench.py --sizes 1000 100000 1000000 --json out.json

Speed is never asserted; ratios are to the tiny index's figures from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet
from vidstyle.indexing.clustered_vectors import ClusteredGenerator


def percentiles(times: list[float]) -> dict[str, float]:
    ms = np.asarray(times) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}


def build(n: int, dims: dict[str, int], settings: IndexSettings) -> tuple[IndexSet, dict[str, ClusteredGenerator]]:
    gens = {space: ClusteredGenerator(dim, seed=dim) for space, dim in dims.items()}
    vectors = {space: gen.sample(n, seed=1) for space, gen in gens.items()}
    names = [f"v{i}" for i in range(n)]
    return IndexSet.from_vectors("bench", names, vectors, settings), gens


def run_size(n: int, args: argparse.Namespace, workdir: Path) -> dict:
    dims = {"style": args.style_dim, "content": 512}
    settings = IndexSettings(use_gpu=False, compact_after=10**9)  # compactions only where timed
    start = time.perf_counter()
    built, gens = build(n, dims, settings)
    build_s = time.perf_counter() - start
    kinds = {space: built.index_type(space) for space in dims}
    index_dir = workdir / f"index-{n}"
    start = time.perf_counter()
    built.save(index_dir)
    save_s = time.perf_counter() - start
    del built
    index = IndexSet.load(index_dir, settings, writable=True)
    new = {space: gen.sample(args.writes + 200, seed=3) for space, gen in gens.items()}
    rng = np.random.default_rng(0)
    victims = rng.choice(n, size=args.writes, replace=False)
    adds, deletes = [], []
    for i in range(args.writes):
        row = {space: v[i : i + 1] for space, v in new.items()}
        t0 = time.perf_counter()
        index.add([f"new{i}"], row)
        t1 = time.perf_counter()
        index.remove([f"v{victims[i]}"])
        t2 = time.perf_counter()
        adds.append(t1 - t0)
        deletes.append(t2 - t1)
    # One compaction with writes going on: the writes' latency meanwhile shows the pause the fold causes.
    during: list[float] = []
    done = threading.Event()

    def writer() -> None:
        i = args.writes
        while not done.is_set() and i < args.writes + 200:
            t0 = time.perf_counter()
            index.add([f"new{i}"], {space: v[i : i + 1] for space, v in new.items()})
            during.append(time.perf_counter() - t0)
            i += 1
            time.sleep(0.005)

    thread = threading.Thread(target=writer)
    thread.start()
    start = time.perf_counter()
    index.save(index_dir)
    compact_s = time.perf_counter() - start
    done.set()
    thread.join()
    old: list[float] = []
    for i in range(args.old_writes):  # the former path: every write rewrote the index files
        t0 = time.perf_counter()
        index.add([f"old{i}"], {space: v[i : i + 1] for space, v in new.items()})
        index.save(index_dir)
        old.append(time.perf_counter() - t0)
    index.close()
    result = {
        "n": n,
        "dims": dims,
        "index_types": kinds,
        "build_s": build_s,
        "first_save_s": save_s,
        "add": percentiles(adds),
        "delete": percentiles(deletes),
        "compaction_s": compact_s,
        "writes_during_compaction": percentiles(during) if during else None,
        "old_write_per_save": percentiles(old) if old else None,
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--writes", type=int, default=500, help="adds and as many deletes per size")
    parser.add_argument("--old-writes", type=int, default=5, help="writes timed on the former rewrite-per-write path")
    parser.add_argument("--style-dim", type=int, default=128, help="style vectors' dimension (content is 512)")
    parser.add_argument("--dir", type=Path, default=None, help="where the INDEX_DIRs go (default: a temp folder)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results = [run_size(n, args, Path(tmp)) for n in args.sizes]
    base = results[0]
    for r in results:
        print(
            f"n={r['n']:>8} add p50 {r['add']['p50_ms']:.2f} ms p99 {r['add']['p99_ms']:.2f} "
            f"({r['add']['p50_ms'] / base['add']['p50_ms']:.2f}x tiny) | delete p50 {r['delete']['p50_ms']:.2f} "
            f"p99 {r['delete']['p99_ms']:.2f} ({r['delete']['p50_ms'] / base['delete']['p50_ms']:.2f}x) | "
            f"compaction {r['compaction_s']:.1f} s | old path p50 "
            f"{(r['old_write_per_save'] or {}).get('p50_ms', float('nan')):.0f} ms",
            flush=True,
        )
    print(f"load {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
