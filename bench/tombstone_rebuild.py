"""A quarter of a 1M fast-scan catalogue deleted, then the save that rebuilds it without the tombstones, while
searches and writes go on: how long the save takes, what searches and writes wait meanwhile, peak memory.

    python bench/tombstone_rebuild.py --n 1000000 --dim 64

Why: fast-scan (the default beyond exact search) deletes by tombstones, as HNSW does; past a quarter of the
index a save rebuilds it aside (retrains, re-encodes from the float vectors) and swaps it in under the writers'
lock only for the swap. One reader thread searches without pause and one writer adds a video every 0.2 s.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet
from vidstyle.indexing.clustered_vectors import ClusteredGenerator


def percentiles_ms(seconds: list[float]) -> list[float]:
    return [round(float(x), 2) for x in np.percentile(np.asarray(seconds) * 1e3, [50, 99, 100])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--deleted", type=float, default=0.26, help="share of the catalogue deleted")
    args = parser.parse_args()
    vectors = {s: ClusteredGenerator(args.dim, seed=i + 1).sample(args.n, seed=i + 2)
               for i, s in enumerate(("content", "style"))}
    names = [f"v{i:07d}" for i in range(args.n)]
    settings = IndexSettings(use_gpu=False)
    index_dir = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    IndexSet.from_vectors("bench", names, vectors, settings).save(index_dir)
    print(f"build + save {time.perf_counter() - start:.1f} s", flush=True)
    index = IndexSet.load(index_dir, settings, writable=True)
    doomed = names[: int(args.deleted * args.n)]
    for i in range(0, len(doomed), 10_000):
        index.remove(doomed[i : i + 10_000])
    queries = [names[i] for i in np.random.default_rng(0).integers(len(doomed), args.n, 400)]
    searches: list[float] = []
    writes: list[float] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            begin = time.perf_counter()
            index.search_id(queries[len(searches) % len(queries)], "content", 10)
            searches.append(time.perf_counter() - begin)

    def writer() -> None:
        for i in range(50):
            begin = time.perf_counter()
            index.add([f"new{i}"], {s: v[i : i + 1] for s, v in vectors.items()})
            writes.append(time.perf_counter() - begin)
            time.sleep(0.2)

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    start = time.perf_counter()
    index.save(index_dir)
    save_s = time.perf_counter() - start
    stop.set()
    for thread in threads:
        thread.join()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{len(doomed)} deleted; the save with the rebuild took {save_s:.1f} s; peak RSS {rss_before} -> "
          f"{rss_after} MB; searches during it ({len(searches)}) p50/p99/max ms {percentiles_ms(searches)}; "
          f"writes p50/p99/max ms {percentiles_ms(writes)}; content index after: "
          f"{index._spaces['content'].plan.description}, {index._spaces['content'].ntotal} stored, "
          f"{len(index._spaces['content'].dead)} tombstones", flush=True)


if __name__ == "__main__":
    main()
