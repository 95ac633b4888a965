"""The GPU stage, stage by stage: decode-only, preprocessing-only (OpenCV vs torch), model-only and end-to-end
frames/s, per backbone and model variant (fp32/bf16, contiguous/channels-last, eager/torch.compile), one run.

    python bench/gpu_bench.py [--device cuda] [--videos 16] [--size 640x360] [--backbones vgg19,efficientnet_lite0]
    python bench/gpu_bench.py --device cpu --tiny     # seconds on a CPU: 64-px frames, few videos, eager only

Stages (frames/s, each timed after an untimed warm-up call):
- decode: the decode workers (`DecodePool`, CPU processes) on the generated H.264 catalogue, no model;
- preprocess: per video the moving-region mask, the content input (crop, resize, grey, blur) and the colour
  histogram, once with the OpenCV functions of `vidstyle.embedder.features` on the CPU, once with the batched
  torch ones of `vidstyle.embedder.preprocess` on `--device` (the uint8 frames' copy to the device included);
- model: the backbone's two passes with their statistics, as `FeatureExtractor` computes them (style taps on the
  full frame: mean/std and the Gram sketch; content taps on the content input: pooled), on frames already on the
  device; the FLOPs of one frame (torch's FlopCounterMode) give TFLOP/s, set against the bf16 (and fp32) dense
  matmul rate measured on the same device in the same run;
- end to end: decode workers feeding batches to preprocessing (torch) and the model, overlapped as the embed job
  does; `e2e / decode` is the fraction of the decode rate the whole stage keeps.
VGG19 runs with random weights (the ImageNet file cannot be downloaded offline; speed does not depend on the
values). GPU decode (decord's NVDEC build) is not used: PyPI's decord is CPU-only. Prints Markdown tables for
bench/RESULTS.md; `--json FILE` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Heavy imports live inside the functions: decode workers are spawned processes that re-import this script.

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    dtype: str  # "fp32" | "bf16"
    channels_last: bool
    compiled: bool

    @property
    def name(self) -> str:
        return f"{self.dtype}, {'channels-last' if self.channels_last else 'contiguous'}" + (
            ", compiled" if self.compiled else "")


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: Any, repeat: int = 1) -> float:
    """Seconds per call of `fn`, after one untimed warm-up call (allocations, autotuning, compilation)."""
    fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / repeat


def matmul_tflops(device: Any, dtype: Any, side: int) -> float:
    """Dense matmul rate (TFLOP/s) of this device in `dtype`: the peak the model stage is measured against."""
    import torch

    a, b = (torch.randn(side, side, device=device, dtype=dtype) for _ in range(2))
    seconds = timed(lambda: a @ b, device, repeat=5)
    return 2 * side**3 / seconds / 1e12


class ModelStage:
    """The backbone's two passes and their statistics, as `FeatureExtractor.__call__` computes them, in one
    variant (precision, memory format, compilation)."""

    def __init__(self, extractor: Any, variant: Variant) -> None:
        import torch

        self.fx, self.variant = extractor, variant
        fmt = torch.channels_last if variant.channels_last else torch.contiguous_format
        self.style_model = extractor.style_model.to(memory_format=fmt)
        self.content_model = extractor.content_model.to(memory_format=fmt)
        if variant.compiled:
            self.style_model = torch.compile(self.style_model)
            self.content_model = torch.compile(self.content_model)
        self.format = fmt

    def __call__(self, frames: Any, content_in: Any) -> Any:
        """frames: (n, 3, S, S) float in [0, 1]; content_in: (n, 3, s, s); both on the device."""
        import torch

        fx = self.fx
        with torch.inference_mode(), torch.autocast(fx.device.type, dtype=torch.bfloat16,
                                                    enabled=self.variant.dtype == "bf16"):
            style = self.style_model(((frames - fx.mean) / fx.std).contiguous(memory_format=self.format))
            content = self.content_model(((content_in - fx.mean) / fx.std).contiguous(memory_format=self.format))
            out = [content[t].float().mean((2, 3)) for t in fx.content_taps]
            for t in fx.style_taps:
                f = style[t].float().flatten(2)
                out.append(torch.cat([f.mean(2), f.std(2)], dim=1))
                sk = torch.einsum("kc,nch->nkh", fx.sketch[t], f)
                out.append((sk @ sk.transpose(1, 2) / f.shape[2]).flatten(1))
            return torch.cat(out, dim=1)


def flops_per_frame(stage: ModelStage, frames: Any, content_in: Any) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        stage(frames[:1], content_in[:1])
    return float(counter.get_total_flops())


def preprocess_opencv(videos: list[Any], settings: Any) -> Any:
    """The CPU path of today's extractor: per video the mask, per frame the content input, the histograms."""
    import numpy as np

    from vidstyle.backbones import frames_to_tensor
    from vidstyle.embedder.features import colour_histogram, content_frames
    from vidstyle.embedder.regions import moving_region_weights

    full = np.ones((28, 28), np.float32)
    masks = [moving_region_weights(v) for v in videos]
    weights = np.concatenate([np.repeat((full if mk is None else mk)[None], len(v), 0) for v, mk in zip(videos, masks)])
    frames = np.concatenate(videos)
    return frames_to_tensor(content_frames(frames, weights, settings)), colour_histogram(frames)


def preprocess_torch(videos: list[Any], settings: Any, device: Any) -> Any:
    """The same on `device` with vidstyle.embedder.preprocess, the uint8 frames' copy included."""
    import numpy as np
    import torch

    from vidstyle.embedder.preprocess import (
        colour_histogram_torch,
        content_frames_torch,
        frames_on,
        moving_region_weights_torch,
    )

    frames = frames_on(np.concatenate(videos), device)
    lengths = [len(v) for v in videos]
    masks = moving_region_weights_torch(frames, lengths)
    full = torch.ones(28, 28, device=device)
    weights = torch.cat([(full if m is None else m)[None].expand(n, -1, -1) for m, n in zip(masks, lengths)])
    return content_frames_torch(frames, weights, settings), colour_histogram_torch(frames), frames


def model_input(frames_u8: Any) -> Any:
    return frames_u8.permute(0, 3, 1, 2).float().div(255)


def bench_backbone(name: str, args: argparse.Namespace, paths: list[Path], variants: list[Variant]) -> list[dict]:
    import torch

    from vidstyle.backbones import load_backbone
    from vidstyle.core.settings import load_settings
    from vidstyle.embedder.features import FeatureExtractor
    from vidstyle.embedder.pipeline import gather_batches
    from vidstyle.media.decode_pool import DecodeJob, DecodePool

    settings = load_settings(REPO / "configs" / ("offline.yaml" if name == "efficientnet_lite0" else "default.yaml"),
                             # The style representation does not change the model stage's cost: stats always.
                             {"model": {"backbone": name, "device": args.device, "input_size": args.input_size,
                                        "style_representation": "stats",
                                        "content_input_size": args.content_size, "batch_size": args.batch},
                              "decode": {"min_gap_s": 0.5, "workers": args.workers}})
    device = torch.device(args.device)
    m = settings.model
    backbone = load_backbone(name, pretrained=name != "vgg19")
    fx = FeatureExtractor(backbone, m)
    jobs = [DecodeJob(str(i), p) for i, p in enumerate(paths)]

    with DecodePool.from_settings(settings.decode, m.input_size) as pool:
        list(pool.imap_unordered(DecodeJob(f"warm{i}", p) for i, p in enumerate(paths[: pool.n_workers])))
        t0 = time.perf_counter()
        decoded = [res for _, res in pool.imap_unordered(jobs)]
        decode_s = time.perf_counter() - t0
    if any(isinstance(d, str) for d in decoded):
        raise SystemExit(f"decode failed: {next(d for d in decoded if isinstance(d, str))}")
    videos = [d.frames for d in decoded]
    n = sum(len(v) for v in videos)

    opencv_s = timed(lambda: preprocess_opencv(videos, m), torch.device("cpu"))
    torch_s = timed(lambda: preprocess_torch(videos, m, device), device)
    content_in, _, frames = preprocess_torch(videos, m, device)
    frames = model_input(frames)

    flops = flops_per_frame(ModelStage(fx, Variant("fp32", False, False)), frames, content_in)
    rows = []
    bs = m.batch_size
    for variant in variants:
        stage = ModelStage(fx, variant)

        def run_model(stage: ModelStage = stage) -> None:
            for i in range(0, n, bs):
                stage(frames[i : i + bs], content_in[i : i + bs])

        model_s = timed(run_model, device, repeat=args.repeat)

        def end_to_end(stage: ModelStage = stage) -> int:
            done = 0
            with DecodePool.from_settings(settings.decode, m.input_size) as pool:
                for batch in gather_batches(pool.imap_unordered(jobs), bs):
                    vids = [res.frames for _, res in batch]
                    c_in, _, f = preprocess_torch(vids, m, device)
                    stage(model_input(f), c_in)
                    done += sum(len(v) for v in vids)
            _sync(device)
            return done

        if not args.tiny:
            end_to_end()  # warm-up: workers' start-up is not the steady rate
        t0 = time.perf_counter()
        e2e_frames = end_to_end()
        e2e_s = time.perf_counter() - t0
        rows.append({
            "backbone": name, "variant": variant.name, "frames": n, "decode_fps": n / decode_s,
            "pre_opencv_fps": n / opencv_s, "pre_torch_fps": n / torch_s, "model_fps": n / model_s,
            "e2e_fps": e2e_frames / e2e_s, "gflop_per_frame": flops / 1e9,
            "model_tflops": flops * n / model_s / 1e12,
        })
        print(f"  {name} {variant.name}: model {n / model_s:.1f} f/s, e2e {e2e_frames / e2e_s:.1f} f/s",
              flush=True)
        del stage
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--backbones", default="vgg19,efficientnet_lite0")
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--size", default="640x360", help="the generated videos' frame size")
    parser.add_argument("--input-size", type=int, default=224, help="model.input_size (frames decoded to it)")
    parser.add_argument("--content-size", type=int, default=112, help="model.content_input_size")
    parser.add_argument("--batch", type=int, default=64, help="frames per model call")
    parser.add_argument("--workers", type=int, default=None, help="decode workers (default: decode.workers)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes of the model over the frames")
    parser.add_argument("--variants", default="fp32:contiguous,fp32:channels_last,bf16:channels_last,"
                        "fp32:channels_last:compiled,bf16:channels_last:compiled",
                        help="dtype:format[:compiled], comma-separated")
    parser.add_argument("--no-compile", action="store_true", help="leave the compiled variants out")
    parser.add_argument("--tiny", action="store_true",
                        help="seconds on a CPU: 2 videos 160x96, 64-px input, 32-px content input, eager only")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.tiny:
        args.videos, args.size, args.input_size, args.content_size = 2, "160x96", 64, 32
        args.batch, args.repeat, args.no_compile, args.workers = 16, 1, True, 1
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU here; use --device cpu")
    from embed_bench import machine, make_videos

    device = torch.device(args.device)
    variants = []
    for entry in args.variants.split(","):
        dtype, fmt, *compiled = entry.split(":")
        if not (compiled and args.no_compile):
            variants.append(Variant(dtype, fmt == "channels_last", bool(compiled)))
    # A CPU without bf16 units takes seconds per 1024² bf16 product; --tiny only checks that every stage runs.
    side = 256 if args.tiny else 1024 if args.device == "cpu" else 8192
    peaks = {"bf16": matmul_tflops(device, torch.bfloat16, side), "fp32": matmul_tflops(device, torch.float32, side)}
    width, height = (int(v) for v in args.size.split("x"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_videos(Path(tmp), args.videos, width, height)
        print(f"machine: {machine()}; device {args.device}; {args.videos} H.264 videos {args.size}, 6 s at 25 fps; "
              f"input {args.input_size} px, content input {args.content_size} px, batch {args.batch}")
        print(f"dense matmul {side}²: bf16 {peaks['bf16']:.3g} TFLOP/s, fp32 {peaks['fp32']:.3g} TFLOP/s", flush=True)
        for name in args.backbones.split(","):
            rows += bench_backbone(name, args, paths, variants)
    print("\n| backbone | variant | frames | decode f/s | preprocess OpenCV f/s | preprocess torch f/s | model f/s "
          "| GFLOP/frame | model TFLOP/s (÷ matmul peak) | end-to-end f/s | e2e / decode |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        peak = peaks["bf16" if r["variant"].startswith("bf16") else "fp32"]
        print(f"| {r['backbone']} | {r['variant']} | {r['frames']} | {r['decode_fps']:.1f} | {r['pre_opencv_fps']:.1f} "
              f"| {r['pre_torch_fps']:.1f} | {r['model_fps']:.1f} | {r['gflop_per_frame']:.2f} "
              f"| {r['model_tflops']:.3f} ({r['model_tflops'] / peak:.2f}) | {r['e2e_fps']:.1f} "
              f"| {r['e2e_fps'] / r['decode_fps']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "device": args.device, "peaks_tflops": peaks,
                                         "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
