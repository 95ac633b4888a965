"""What style query expansion costs a `recommend` request: latency with `style_expansion` 0 and n, one run.

    python bench/recommend_expansion_cost.py [--n 100000] [--style-dim 512] [--content-dim 256] [--expansions 0 3 10]

Clustered synthetic vectors (vidstyle.indexing.clustered_vectors), the index type `index.*` defaults choose, no copy
check (it costs the same with or without expansion); the same sample of stored videos queried with each setting,
interleaved, `recommend` at the serve defaults otherwise. Prints median and p95 ms per request and the ratio to
expansion 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import numpy as np

from vidstyle.core.settings import IndexSettings, ServeSettings
from vidstyle.indexing import IndexSet
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors
from vidstyle.indexing.recommend import Blend, recommend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--style-dim", type=int, default=512)
    parser.add_argument("--content-dim", type=int, default=256)
    parser.add_argument("--expansions", type=int, nargs="+", default=[0, 3, 10])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    ids = [f"v{i:07d}" for i in range(args.n)]
    vectors = {"style": clustered_unit_vectors(args.n, args.style_dim, seed=1),
               "content": clustered_unit_vectors(args.n, args.content_dim, seed=2)}
    index = IndexSet.from_vectors("bench", ids, vectors, IndexSettings())
    base = dataclasses.replace(Blend.from_settings(ServeSettings()), copy_threshold=2.0)
    blends = {n: dataclasses.replace(base, style_expansion=n) for n in args.expansions}
    sample = np.random.default_rng(0).choice(args.n, args.sample, replace=False)
    times: dict[int, list[float]] = {n: [] for n in blends}
    for i in sample:
        for n, blend in blends.items():  # interleaved: each setting sees the same load
            t0 = time.perf_counter()
            recommend(index, ids[i], args.k, blend)
            times[n].append((time.perf_counter() - t0) * 1000)
    first = np.median(times[args.expansions[0]])
    print(f"{platform.processor() or platform.machine()}, {args.n} videos, style {index.index_type('style')} "
          f"({args.style_dim}-d), content {args.content_dim}-d, {args.sample} requests each")
    print("| style_expansion | median ms | p95 ms | median ÷ expansion 0 |")
    print("|---|---|---|---|")
    for n, t in times.items():
        print(f"| {n} | {np.median(t):.2f} | {np.percentile(t, 95):.2f} | {np.median(t) / first:.2f} |")


if __name__ == "__main__":
    main()
