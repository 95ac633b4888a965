"""Embedding throughput: decode-only, model-only and end-to-end frames/s, side by side in one run.

    python bench/embed_bench.py [--videos 16] [--backbones efficientnet_lite0,vgg19] [--size 640x360]

VGG19 runs with random-init weights here (the ImageNet file cannot be downloaded on these machines);
throughput does not depend on the weights' values. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

# Heavy imports live inside the functions: decode workers are spawned processes that re-import this
# script, and importing torch there would be counted as decode time.

REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    import torch

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {torch.get_num_threads()} torch threads, {gpu}"


def make_videos(out: Path, n: int, width: int, height: int, seconds: float = 6.0, fps: int = 25) -> list[Path]:
    import numpy as np

    from vidstyle.media.samples import CONTENTS, LOOKS, camera_motion, render_scene, write_video

    contents, looks = list(CONTENTS), list(LOOKS)
    paths = []
    rng = np.random.default_rng(0)
    for i in range(n):
        scene = render_scene(contents[i % len(contents)], looks[i % len(looks)], seed=i, long_side=2 * width)
        frames = [np.ascontiguousarray(f[: height]) for f in camera_motion(scene, int(seconds * fps), width, rng)]
        paths.append(write_video(out / f"v{i:03d}.mp4", frames, fps=fps, gop=2 * fps))
    return paths


def bench_backbone(name: str, videos_dir: Path, paths: list[Path], device: str) -> dict[str, float]:
    import torch

    from vidstyle.core.settings import load_settings
    from vidstyle.embedder.model import Embedder
    from vidstyle.embedder.pipeline import embed
    from vidstyle.media.decode_pool import DecodeJob

    settings = load_settings(REPO / "configs" / "default.yaml",
                             {"model": {"backbone": name, "device": device}, "decode": {"min_gap_s": 0.5}})
    embedder = Embedder(settings, pretrained=name != "vgg19")

    with embedder.make_pool() as pool:
        # Untimed warm-up: worker start-up (spawn re-imports this script, torch included) is not decode time.
        list(pool.imap_unordered(DecodeJob(f"warm{i}", p) for i, p in enumerate(paths[: pool.n_workers])))
        t0 = time.perf_counter()
        decoded = [res for _, res in pool.imap_unordered(DecodeJob(str(i), p) for i, p in enumerate(paths))]
        decode_s = time.perf_counter() - t0
    errors = [d for d in decoded if isinstance(d, str)]
    if errors:
        raise SystemExit(f"decode failed: {errors[0]}")
    frames = sum(len(d.frames) for d in decoded)

    embedder.vectors(decoded[:1])  # warm-up (allocations, cuDNN autotune)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    embedder.vectors(decoded)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    model_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as out:
        summary = embed(videos_dir, Path(out), settings, progress=False, embedder=embedder)
    embedder.close()
    return {
        "frames": frames,
        "decode_fps": frames / decode_s,
        "model_fps": frames / model_s,
        "e2e_fps": summary.frames / summary.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--backbones", default="efficientnet_lite0,vgg19")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        videos_dir = Path(tmp)
        paths = make_videos(videos_dir, args.videos, width, height)
        print(f"machine: {machine()}; {args.videos} H.264 videos {args.size}, 6 s at 25 fps")
        print("| backbone | frames | decode-only f/s | model-only f/s | end-to-end f/s | e2e / model | e2e / decode |")
        print("|---|---|---|---|---|---|---|")
        for name in args.backbones.split(","):
            r = bench_backbone(name, videos_dir, paths, args.device)
            print(f"| {name} | {r['frames']} | {r['decode_fps']:.1f} | {r['model_fps']:.1f} | {r['e2e_fps']:.1f} "
                  f"| {r['e2e_fps'] / r['model_fps']:.2f} | {r['e2e_fps'] / r['decode_fps']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
