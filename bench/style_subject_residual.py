"""The subject taken out of the style vector: a ridge residual on the content vector, by leave-one-family-out.

Part of a style vector is predictable from what the picture shows: a graded frame and a lightly textured one of the
same subject both still look like that photo. The style head's own training frames hold every training scene in
many looks, so that part can be fitted there: a ridge regression W from the content vector c (the packaged content
head's) to the shipped form's style frame vector s (head + stats, w = 1), fitted on the centred frames, and a file's
style vector becomes unit(s − α (c − c̄) W). For each left-out training family the head and W are fitted without
that family's looks and scored on its triplets of the training benchmarks (bench/RESULTS.md, section 14, has the
protocol and the rule); the held-out families are then run once with the head and W fitted on every training
family. Style blocks come from `style_head_lofo.py`'s caches, content vectors from `quality_content.py`'s.

    python bench/style_subject_residual.py --train-bench /tmp/vg6/train-1{0,1,2,3,4,5} \\
        --heldout-bench /tmp/vidstyle-generalise/heldout-1{0,1,2,3,4,5} --cache /tmp/hcache6 \\
        --out bench/style_subject_residual.json
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

from vidstyle.backbones import load_backbone
from vidstyle.core.settings import load_settings
from vidstyle.core.vectors import unit
from vidstyle.embedder.content_head import load_content_head, packaged_content_head
from vidstyle.embedder.features import FeatureExtractor
from vidstyle.embedder.style_head import load_style_head
from vidstyle.embedder.train_style_head import HeadTraining, cached_blocks, render_training_frames, train_style_head
from vidstyle.media.looks import LOOK_LIBRARY, SPLITS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_content import bench_frames, file_vectors  # noqa: E402 - sibling scripts' caches and helpers
from style_head_lofo import (  # noqa: E402
    file_blocks,
    frame_representations,
    representations,
    triplet_accuracy,
    triplet_hits,
)

REPO = Path(__file__).resolve().parents[1]
RIDGE = (0.01, 0.1, 1.0)
ALPHA = (0.5, 1.0)
SHIPPED = "h w=1"


def fit_ridge(c: np.ndarray, s: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(c̄, W): the centred ridge regression of s on c, penalty `ridge` · tr(Σ_c) / D."""
    mean = c.mean(0)
    cc = c - mean
    gram = cc.T @ cc
    penalty = ridge * np.trace(gram) / gram.shape[0]
    w = np.linalg.solve(gram + penalty * np.eye(gram.shape[0]), cc.T @ (s - s.mean(0)))
    return mean, w


def frame_vectors(x: np.ndarray, layout: dict[str, int], head) -> np.ndarray:
    """(n, D) the shipped form's style vector of each frame."""
    return frame_representations(x, layout, {"h": head}, (1.0,))[SHIPPED]


def residuals(style: dict[str, np.ndarray], content: dict[str, np.ndarray], fits: dict[float, tuple]
              ) -> dict[str, dict[str, np.ndarray]]:
    """Per grid point, the files' style vectors with the predicted subject part taken out (and the plain one)."""
    out = {"shipped w=1": style}
    for ridge, (mean, w) in fits.items():
        for alpha in ALPHA:
            out[f"ridge={ridge:g} alpha={alpha:g}"] = {
                p: unit(s - alpha * (content[p] - mean) @ w) for p, s in style.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-bench", type=Path, nargs="+", required=True)
    ap.add_argument("--heldout-bench", type=Path, nargs="*", default=[])
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hcache"), help="training statistics cache")
    ap.add_argument("--max-frames", type=int, default=4, help="style frames per file (the style caches')")
    ap.add_argument("--tie-margin", type=float, default=0.02)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    settings = load_settings(args.config, {"model": {"style_head": None, "content_head": None,
                                                     "style_representation": "texture"}})
    m, d = settings.model, settings.decode
    fx = FeatureExtractor(load_backbone(m.backbone, m.weights_path), m)
    layout = fx.block_layout()
    chead = load_content_head(packaged_content_head(m.backbone))
    projection = (chead.mean.numpy(), chead.projection.numpy())

    recipe = HeadTraining()
    x_train, data = cached_blocks(fx, recipe, args.cache)
    frames = render_training_frames(recipe, m.input_size, part="base").frames
    if len(frames) != len(x_train):
        raise RuntimeError("the rendered training frames do not line up with the cached blocks")
    with torch.inference_mode():
        c_train = np.concatenate([chead(fx.hand_content(frames[i : i + 64])).numpy()
                                  for i in range(0, len(frames), 64)])
    family = np.array([LOOK_LIBRARY[data.looks[k]].family for k in data.labels])

    def files(bench: Path) -> tuple[dict, dict]:
        blocks = file_blocks(bench, fx, args.max_frames, d.min_gap_s, args.cache)
        return blocks, file_vectors(bench_frames(bench, fx, d.max_frames, d.min_gap_s), projection)

    result: dict = {"lofo": {}, "heldout": {}}
    train = {b: files(b) for b in args.train_bench}
    for left_out in SPLITS["train"]:
        out = Path(f"/tmp/residual-head-{left_out}.pt")
        train_style_head(settings, out, dataclasses.replace(recipe, exclude_families=(left_out,)),
                         cache_dir=args.cache, progress=False)
        head = load_style_head(out)
        keep = family != left_out
        s_train = frame_vectors(x_train[keep], layout, head)
        fits = {r: fit_ridge(c_train[keep], s_train, r) for r in RIDGE}
        hits: dict[str, list[bool]] = {}
        for bench, (blocks, content) in train.items():
            style = representations(blocks, layout, {"h": head}, (1.0,))[SHIPPED]
            for name, v in residuals(style, content, fits).items():
                hits.setdefault(name, []).extend(triplet_hits(bench, v, left_out))
        result["lofo"][left_out] = {n: (float(np.mean(h)), len(h)) for n, h in hits.items()}
        print(left_out, {n: round(v[0], 3) for n, v in result["lofo"][left_out].items()}, flush=True)
    means = {n: float(np.mean([r[n][0] for r in result["lofo"].values()])) for n in next(iter(result["lofo"].values()))}
    best = max((n for n in means if n != "shipped w=1"), key=lambda n: means[n])
    result["means"] = means
    result["choice"] = best if means[best] - means["shipped w=1"] >= args.tie_margin else "shipped w=1"
    print("left-out means:", {n: round(v, 3) for n, v in means.items()}, "chosen:", result["choice"], flush=True)

    out = Path("/tmp/residual-head-all.pt")
    train_style_head(settings, out, recipe, cache_dir=args.cache, progress=False)
    head = load_style_head(out)
    fits = {r: fit_ridge(c_train, frame_vectors(x_train, layout, head), r) for r in RIDGE}
    for bench in args.heldout_bench:
        blocks, content = files(bench)
        style = representations(blocks, layout, {"h": head}, (1.0,))[SHIPPED]
        reps = residuals(style, content, fits)
        with (bench / "triplets.csv").open() as fh:
            fams = sorted({r["family"] for r in csv.DictReader(fh)})
        result["heldout"][bench.name] = {fam: {n: triplet_accuracy(bench, v, None if fam == "all" else fam)
                                               for n, v in reps.items()} for fam in ["all", *fams]}
        print(bench.name, {n: round(v[0], 3) for n, v in result["heldout"][bench.name]["all"].items()}, flush=True)
    runs = list(result["heldout"].values())
    if runs:
        names = list(runs[0]["all"])
        print("| held-out group | n | " + " | ".join(names) + " |")
        for g in runs[0]:
            n = sum(r[g][names[0]][1] for r in runs if g in r)
            print(f"| {g} | {n} | " + " | ".join(f"{np.mean([r[g][k][0] for r in runs if g in r]):.3f}"
                                               for k in names) + " |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
