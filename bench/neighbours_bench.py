"""Offline neighbour tables: videos/s of `write_neighbours` (batched) vs one `search_id` per video, one run.

    python bench/neighbours_bench.py [--n 100000] [--style-dim 512] [--content-dim 256] [--k 10]

Clustered synthetic vectors (vidstyle.indexing.clustered_vectors), the index type `index.*` defaults choose,
on this machine's CPU. The per-video loop is timed on a sample of the videos and reported as a rate.
Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from vidstyle.core.settings import IndexSettings, ServeSettings
from vidstyle.indexing import IndexSet
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors
from vidstyle.indexing.neighbours import Blend, write_neighbours
from vidstyle.indexing.recommend import recommend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--style-dim", type=int, default=512)
    parser.add_argument("--content-dim", type=int, default=256)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--sample", type=int, default=2000, help="videos timed one by one")
    args = parser.parse_args()
    ids = [f"v{i:07d}" for i in range(args.n)]
    vectors = {"style": clustered_unit_vectors(args.n, args.style_dim, seed=1),
               "content": clustered_unit_vectors(args.n, args.content_dim, seed=2)}
    t0 = time.perf_counter()
    index = IndexSet.from_vectors("bench", ids, vectors, IndexSettings())
    build = time.perf_counter() - t0
    blend = Blend.from_settings(ServeSettings())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for space in ("style", "recommend"):
            t0 = time.perf_counter()
            write_neighbours(index, space, args.k, Path(tmp) / f"{space}.parquet",
                             blend=blend if space == "recommend" else None, progress=False)
            batched = args.n / (time.perf_counter() - t0)
            sample = ids[:: max(1, args.n // args.sample)]
            t0 = time.perf_counter()
            for vid in sample:
                if space == "recommend":
                    recommend(index, vid, args.k, blend.style_weight, blend.content_weight, blend.near_duplicate,
                              blend.candidates)
                else:
                    index.search_id(vid, space, args.k)
            single = len(sample) / (time.perf_counter() - t0)
            rows.append((space, batched, single))
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    print(f"Machine: {cpu}, {os.cpu_count()} cores. {args.n:,} videos, style {args.style_dim}-d "
          f"({index.index_type('style')}), content {args.content_dim}-d ({index.index_type('content')}), "
          f"k={args.k}; index built in {build:.0f} s\n")
    print("| table | `neighbours` (batched) videos/s | one query per video, videos/s | ratio |\n|---|---|---|---|")
    for space, batched, single in rows:
        print(f"| {space} | {batched:,.0f} | {single:,.0f} | {batched / single:.1f}× |")


if __name__ == "__main__":
    main()
