"""Local vs Ray engine: frames/s of `vidstyle embed` on the same catalogue, both engines in one run.

    python bench/engine_bench.py [--videos 32] [--size 640x360] [--config configs/offline.yaml]

Each engine embeds the same generated H.264 catalogue into a fresh EMB_DIR. Two rates per engine:
- whole run: frames / the embed call's wall time, start-up included (the local engine's model load and decode
  workers; Ray's decode and model actors, each loading its own model). Ray's own start (`ray.init` of a local
  instance sized to the machine) is timed apart, since a cluster started with `ray start` pays it once;
- steady: frames after the first rows reached the driver / the time from those rows to the last ones, i.e. the
  rate once every stage is running (for Ray this flatters: its decode actor works ahead while the model actor
  loads, so the model then meets videos already decoded);
- first rows after: seconds from the call to the first rows at the driver (start-up and the first batch).
Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from embed_bench import machine, make_videos

REPO = Path(__file__).resolve().parents[1]


class RowClock:
    """Times the rows reaching the driver's PartWriter, the one place both engines hand their rows to."""

    def __init__(self) -> None:
        self.stamps: list[tuple[float, int]] = []  # (time, frames in the rows added)

    def install(self) -> None:
        from vidstyle.embedder.pipeline import PartWriter

        add = PartWriter.add
        clock = self

        def timed_add(writer: PartWriter, rows: list[dict[str, Any]]) -> None:
            add(writer, rows)
            clock.stamps.append((time.perf_counter(), sum(r["n_frames"] for r in rows)))

        PartWriter.add = timed_add  # type: ignore[method-assign]

    def steady_fps(self) -> float:
        (t_first, _), (t_last, _) = self.stamps[0], self.stamps[-1]
        frames = sum(n for _, n in self.stamps[1:])
        return frames / (t_last - t_first) if t_last > t_first else float("nan")


def run(engine: str, videos: Path, settings: Any, clock: RowClock) -> dict[str, float]:
    from vidstyle.embedder.pipeline import embed
    from vidstyle.embedder.ray_engine import embed_ray

    clock.stamps.clear()
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        if engine == "local":
            summary = embed(videos, Path(out), settings, progress=False)
        else:
            summary = embed_ray(videos, Path(out), settings, progress=False)
        wall = time.perf_counter() - t0
    assert summary.failed == 0, summary
    return {"frames": summary.frames, "wall": wall, "whole": summary.frames / wall, "steady": clock.steady_fps(),
            "first": clock.stamps[0][0] - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=32)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    args = parser.parse_args()
    import ray

    from vidstyle.core.settings import load_settings
    from vidstyle.embedder.ray_engine import Layout, machine_cpus

    settings = load_settings(args.config)
    width, height = (int(v) for v in args.size.split("x"))
    clock = RowClock()
    clock.install()
    with tempfile.TemporaryDirectory() as tmp:
        videos = Path(tmp)
        make_videos(videos, args.videos, width, height)
        print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} before the run")
        print(f"{args.videos} H.264 videos {args.size}, 6 s at 25 fps; backbone {settings.model.backbone}")
        local = run("local", videos, settings, clock)
        t0 = time.perf_counter()
        ray.init(address="local", num_cpus=machine_cpus(), include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False)
        ray_start = time.perf_counter() - t0
        layout = Layout.for_cluster(ray.cluster_resources())
        try:
            remote = run("ray", videos, settings, clock)
        finally:
            ray.shutdown()
    print(f"ray.init: {ray_start:.1f} s; Ray layout: {layout}; local: {settings.decode.workers} decode workers")
    print("| engine | frames | wall s | first rows after s | whole run f/s | steady f/s |")
    print("|---|---|---|---|---|---|")
    for name, r in (("local", local), ("ray", remote)):
        print(f"| {name} | {r['frames']} | {r['wall']:.1f} | {r['first']:.1f} | {r['whole']:.1f} | {r['steady']:.1f} |")
    whole, steady = remote["whole"] / local["whole"], remote["steady"] / local["steady"]
    print(f"ray / local: whole run {whole:.2f}, steady {steady:.2f}")


if __name__ == "__main__":
    main()
