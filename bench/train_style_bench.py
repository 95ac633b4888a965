"""Learned style (CIN) benchmark: train on generated images within a CPU budget, then compare `style_cin` with the
`style_stats` and `style_gram` representations on the labelled benchmark.

    python bench/train_style_bench.py --work /tmp/vidstyle-cin --minutes 10

1. Training data: `make-benchmark` images (seed 1) in 12 of the 16 looks; labels are never used (the loss is
   the perceptual loss only). Evaluation: the standard benchmark (seed 0, image/video/three_panel, 30 triplets
   each), whose remaining 4 looks P never saw: the triplets are split by whether C's look was seen in training.
2. `train` with a time limit (the CPU is shared; one torch thread, see `styletransfer.train.train`).
3. The same network at its random initialisation is scored too: P's head on frozen backbone statistics is
   already a (random) projection of AdaIN-like statistics, so "untrained" is the bar training must clear.
4. Writes the training curve (PNG), stylisation samples (JPEG) and a JSON of every number under --out-dir.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from vidstyle.backbones import load_backbone
from vidstyle.core.settings import load_settings
from vidstyle.evaluation.benchmark import make_benchmark
from vidstyle.evaluation.triplets import evaluate_retrieval, evaluate_triplets
from vidstyle.media.samples import LOOKS
from vidstyle.styletransfer.checkpoint import load_cin, read_checkpoint, save_checkpoint
from vidstyle.styletransfer.model import CinConfig, CinModel
from vidstyle.styletransfer.train import train

REPO = Path(__file__).resolve().parents[1]

# 4 of the 16 looks P never sees: a colour map, a dot screen, a painterly filter and a colour grade.
HELD_OUT_LOOKS = ["halftone", "oil", "thermal", "vintage"]


def _bench(out: Path, **kw) -> Path:
    if not (out / "triplets.csv").is_file():
        make_benchmark(out, **kw)
    return out


def _look_of(path: Path) -> str:
    return path.stem.split("__")[1]


def score(ckpt: Path, eval_dir: Path, cache: Path) -> dict:
    """Triplet style accuracy per representation (all / seen looks / held-out looks, and per kind), retrieval mAP."""
    settings = load_settings(REPO / "configs" / "offline.yaml", {"model": {"cin_checkpoint": str(ckpt)}})
    trip = evaluate_triplets(eval_dir / "triplets.csv", settings, cache)
    held = np.array([_look_of(t.c) in HELD_OUT_LOOKS for t in trip.triplets])
    out: dict = {"contract": trip.summary(), "by_kind": trip.by_kind_and_representation(), "split": {}}
    for r in trip.representations:
        key = f"style_{r}"
        out["split"][r] = {name: float(trip._group(mask, key)["style_accuracy"])
                           for name, mask in (("seen", ~held), ("held_out", held))}
    ret = evaluate_retrieval(eval_dir / "labels.csv", settings, 10, cache)
    out["retrieval"] = {r: ret.scores(f"style_{r}", "style") for r in trip.representations}
    out["n_seen"], out["n_held_out"] = int((~held).sum()), int(held.sum())
    return out


def plot_curve(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([h["step"] for h in history])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key in zip(axes, ("total", "style", "content")):
        y = np.array([h[key] for h in history])
        w = max(len(y) // 40, 1)
        ax.plot(steps, y, color="0.8", lw=0.7, label="per step")
        if len(y) >= w:
            ax.plot(steps[w - 1 :], np.convolve(y, np.ones(w) / w, "valid"), color="C0", label=f"mean of {w}")
        ax.set_title(f"{key} loss")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.suptitle(f"CIN training on CPU (1 thread): {len(history)} steps, {history[-1]['seconds'] / 60:.1f} min")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def stylize_grid(ckpt: Path, eval_dir: Path, path: Path, size: int = 128) -> None:
    """Rows: a style reference (seen and held-out looks), then that style applied to three contents."""
    import cv2
    from PIL import Image

    def load(p: Path) -> np.ndarray:  # as embedder.decode loads an image: RGB, bilinear to a square
        return np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.BILINEAR))

    model = load_cin(ckpt)
    images = eval_dir / "image"
    contents = [load(p) for p in sorted(images.glob("*__natural.png"))[:3]]
    rows = [np.concatenate([np.full((size, size, 3), 255, np.uint8), *contents], axis=1)]
    for look in ["sepia", "pixel", "blueprint", *HELD_OUT_LOOKS[1:]]:
        refs = sorted(images.glob(f"*__{look}.png"))
        if not refs:
            continue
        ref = load(refs[0])
        tile = ref.copy()
        label = look + (" (unseen)" if look in HELD_OUT_LOOKS else "")
        cv2.putText(tile, label, (3, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(tile, label, (3, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(np.concatenate([tile] + [model.stylize(c, ref[None]) for c in contents], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path, quality=85)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/vidstyle-cin-bench"))
    ap.add_argument("--out-dir", type=Path, default=REPO / "bench")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    settings = load_settings(REPO / "configs" / "offline.yaml")

    seen = [k for k in LOOKS if k not in HELD_OUT_LOOKS]
    train_dir = _bench(work / "train", n=100, seed=1, kinds=["image"], looks=seen)
    eval_dir = _bench(work / "eval", n=30, seed=0)

    config = CinConfig(backbone="efficientnet_lite0", image_size=args.size, style_size=args.size, batch=args.batch,
                       lr=args.lr, seed=args.seed, steps=1_000_000, save_every=100)
    untrained = work / "untrained.pt"
    if not untrained.is_file():
        torch.manual_seed(config.seed)
        save_checkpoint(untrained, CinModel(config, load_backbone(config.backbone)))
    ckpt = work / "cin.pt"
    if not ckpt.is_file():
        result = train(train_dir / "image", train_dir / "image", ckpt, config, settings, device="cpu",
                       time_limit_s=args.minutes * 60, threads=args.threads)
        history = result.history
    else:
        history = read_checkpoint(ckpt)["history"]

    args.out_dir.mkdir(parents=True, exist_ok=True)
    plot_curve(history, args.out_dir / "cin_training_curve.png")
    stylize_grid(ckpt, eval_dir, args.out_dir / "cin_stylize_samples.jpg")

    t0 = time.monotonic()
    cache = work / "cache"
    results = {"trained": score(ckpt, eval_dir, cache), "untrained": score(untrained, eval_dir, cache)}
    report = {
        "config": config.to_dict() | {"steps": history[-1]["step"]},
        "train_seconds": history[-1]["seconds"],
        "first_loss": history[0], "last_100_mean": {k: float(np.mean([h[k] for h in history[-100:]]))
                                                      for k in ("total", "style", "content", "tv")},
        "held_out_looks": HELD_OUT_LOOKS,
        "eval_seconds": time.monotonic() - t0,
        "torch_threads": args.threads,
        **results,
    }
    (args.out_dir / "cin_results.json").write_text(json.dumps(report, indent=1))
    tr, un = results["trained"], results["untrained"]
    print(f"{history[-1]['step']} steps in {history[-1]['seconds'] / 60:.1f} min; "
          f"{tr['n_seen']} seen-look / {tr['n_held_out']} held-out-look triplets")
    print("| representation | style acc (all) | seen looks | held-out looks | image | video | three_panel "
          "| style mAP |")
    print("|---|---|---|---|---|---|---|---|")
    for label, res in (("", tr), (" (untrained P)", un)):
        for r in res["split"]:
            if label and r != "cin":
                continue
            k = res["by_kind"][r]
            print(f"| {r}{label} | {res['contract']['by_representation'][r]['style_accuracy']:.3f} | "
                  f"{res['split'][r]['seen']:.3f} | {res['split'][r]['held_out']:.3f} | {k.get('image', 0):.3f} | "
                  f"{k.get('video', 0):.3f} | {k.get('three_panel', 0):.3f} | {res['retrieval'][r]['map']:.3f} |")


if __name__ == "__main__":
    main()
