"""Offline neighbour tables: videos/s of `write_neighbours` (batched), of its Ray engine, and of one `search_id`
per video, one run.

    python bench/neighbours_bench.py [--n 100000] [--style-dim 512] [--content-dim 256] [--k 10] [--no-ray]

Clustered synthetic vectors (vidstyle.indexing.clustered_vectors), the index type `index.*` defaults choose,
on this machine's CPU. The per-video loop is timed on a sample of the videos and reported as a rate. The Ray
engine runs on a local instance with one worker per CPU, each loading the saved INDEX_DIR itself; its time
includes the workers' start and index loads (`ray.init` is timed apart: a `ray start` cluster pays it once).
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
from vidstyle.indexing.neighbours import write_neighbours
from vidstyle.indexing.neighbours_ray import write_neighbours_ray
from vidstyle.indexing.recommend import Blend, recommend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--style-dim", type=int, default=512)
    parser.add_argument("--content-dim", type=int, default=256)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--sample", type=int, default=2000, help="videos timed one by one")
    parser.add_argument("--no-ray", action="store_true", help="leave the Ray engine out")
    parser.add_argument("--index-type", default="auto", help="index.index_type (default: chosen from the budgets)")
    args = parser.parse_args()
    ids = [f"v{i:07d}" for i in range(args.n)]
    vectors = {"style": clustered_unit_vectors(args.n, args.style_dim, seed=1),
               "content": clustered_unit_vectors(args.n, args.content_dim, seed=2)}
    t0 = time.perf_counter()
    settings = IndexSettings(index_type=args.index_type)
    index = IndexSet.from_vectors("bench", ids, vectors, settings)
    build = time.perf_counter() - t0
    print(f"index built in {build:.0f} s: style {index.index_type('style')}, content "
          f"{index.index_type('content')}", flush=True)
    blend = Blend.from_settings(ServeSettings())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        index.save(index_dir)
        ray_start = _start_ray() if not args.no_ray else None
        for space in ("style", "recommend"):
            t0 = time.perf_counter()
            write_neighbours(index, space, args.k, Path(tmp) / f"{space}.parquet",
                             blend=blend if space == "recommend" else None, progress=False)
            batched = args.n / (time.perf_counter() - t0)
            on_ray = float("nan")
            if ray_start is not None:
                t0 = time.perf_counter()
                write_neighbours_ray(index_dir, settings, space, args.k, Path(tmp) / f"{space}-ray.parquet",
                                     blend=blend if space == "recommend" else None, progress=False)
                on_ray = args.n / (time.perf_counter() - t0)
            sample = ids[:: max(1, args.n // args.sample)]
            t0 = time.perf_counter()
            for vid in sample:
                if space == "recommend":
                    recommend(index, vid, args.k, blend)
                else:
                    index.search_id(vid, space, args.k)
            single = len(sample) / (time.perf_counter() - t0)
            rows.append((space, batched, on_ray, single))
            # Each table's figures as soon as they exist: a long run stopped early keeps what it measured.
            print(f"{space}: local {batched:,.1f}, ray {on_ray:,.1f}, one by one {single:,.1f} videos/s", flush=True)
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    print(f"Machine: {cpu}, {os.cpu_count()} cores. {args.n:,} videos, style {args.style_dim}-d "
          f"({index.index_type('style')}), content {args.content_dim}-d ({index.index_type('content')}), "
          f"k={args.k}; index built in {build:.0f} s\n")
    if ray_start is not None:
        import ray

        print(f"Ray: local instance, {ray.cluster_resources().get('CPU', 0):.0f} CPUs (one worker each), "
              f"ray.init {ray_start:.1f} s\n")
        ray.shutdown()
    print("| table | local engine (batched) videos/s | Ray engine videos/s | Ray / local | one query per video, "
          "videos/s | batched / one by one |\n|---|---|---|---|---|---|")
    for space, batched, on_ray, single in rows:
        print(f"| {space} | {batched:,.0f} | {on_ray:,.0f} | {on_ray / batched:.2f} | {single:,.0f} "
              f"| {batched / single:.1f}× |")


def _start_ray() -> float:
    """Start a local Ray instance sized to the machine (as `--engine ray` would); returns the seconds it took."""
    import logging

    import ray

    from vidstyle.embedder.ray_engine import machine_cpus

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=machine_cpus(), include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
