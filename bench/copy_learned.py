"""A copy descriptor *learned* on training scenes in training-family looks, beside the hand-built one.

The hand-built descriptor (`vidstyle.embedder.copy_descriptor`: orientation maps of the de-stylised grey frame)
finds a copy in a training look, but misses most copies whose look re-renders the edges (ink, charcoal, blueprint:
held-out families). This trains a small CNN for copy detection in the spirit of SSCD (Pizzi et al. 2022): two views
of one scene, each in another look instance with its own crop and compression, are pulled together; other scenes
in the batch are pushed apart (InfoNCE). Data is training data only: `train_style_head.training_scene` (bundled
photos that are not benchmark subjects, and random drawings), looks of the training families (`looks_in("train")`),
crops and JPEG compression. No flip, caption or template is used in training (held-out edits of the copy
benchmark); a mirror is matched by construction instead: a keyframe's vector is unit(f(x) + f(mirror(x))).

The input is what the hand-built descriptor takes its gradients of: `copy_descriptor.region_greys` (the moving
region, grey, 64 px, blurred), each image standardised (mean 0, std 1), so the production crop is reused and a
grade's brightness and contrast are gone before the network sees the frame.

Matching: a video pair's learned score is the better of the two directions' mean over keyframes of the best cosine
to the other video's keyframes; it is normalised against a background set exactly as the shipped score is
(S − (bg(a) + bg(b)) / 2, bg the mean of the 10 best scores against the background set). Candidates: the learned
score alone and `shipped + w · learned` for w in `--weights`. Rule (bench/RESULTS.md, fixed before the first run):
a candidate is a finding only if its mean µAP over the two training sets (the 15-subject train split and the second
selection set) is at least `MIN_GAIN` above the shipped score's and it is lower on neither by more than
`MAX_AP_DROP`; w is chosen by that mean. The test split and the fresh held-out split are reported, never chosen on.

Leave one family out (`--families`): the selection sets hold training-family looks, and a network trained on
those families fits them (bench/RESULTS.md). With `--families`, for each training family F a copy set is written in
F's looks only (the train split's generator and edits, seed `FAMILY_SEED` + the family's index), a network is
trained on the other families' looks, and shipped and fused scores are compared on F's set: the same question the
held-out splits ask, asked of training data.

Usage:

    python bench/copy_learned.py BENCH/labels.csv SECOND/labels.csv --fresh FRESH/labels.csv --frames DIR
        --work DIR --json OUT.json [--scenes 600] [--looks-per-scene 4] [--steps 1500] [--seed 0]
    python bench/copy_learned.py BENCH/labels.csv SECOND/labels.csv --fresh FRESH/labels.csv --frames DIR
        --work DIR --families [grade ...] --json OUT.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np
import torch
from copy_edges import (
    BETA,
    _background,
    _detection,
    _pair_scores,
    _split,
    _threshold,
    background_matrix,
    pair_matrix,
)
from copy_static_pixels import _frames
from torch import nn
from torch.nn import functional as F

from vidstyle.embedder.copies import prepare
from vidstyle.embedder.copy_descriptor import describe, grey, region_greys
from vidstyle.embedder.train_style_head import TRAINING_PHOTOS, training_scene
from vidstyle.evaluation.copy_benchmark import (
    BACKGROUND_LOOKS,
    TRAIN_EDITS,
    TRAIN_LOOKS,
    SplitSpec,
    _Renderer,
    draw_items,
    write_labels,
)
from vidstyle.evaluation.recommend_eval import SplitData, read_items
from vidstyle.media.looks import FAMILIES, families_in, get_look, looks_in
from vidstyle.media.samples import CONTENTS

MIN_GAIN = 0.01
MAX_AP_DROP = 0.005
STORED_SIDE = 192  # rendered scenes are kept at the videos' viewing size (media.looks.VIEW_SIDE)
BACKGROUND = {"train": "second", "second": "train"}  # every held-out split's: "second"
FAMILY_SEED = 20  # family sets' seeds: 20 + the family's index in families_in("train"); no other set uses them
TEMPERATURE = 0.1
DIM = 256
SELECTION_LOOKS = (*TRAIN_LOOKS, *BACKGROUND_LOOKS)
"""The looks of the two selection sets: the train split's and the second set's (the packaged background's)."""


# ---------------------------------------------------------------- data: training scenes in training looks
def _render_scene(args: tuple[int, int, int, tuple[str, ...]]) -> list[np.ndarray]:
    """Scene `index` of the run (seeded), plain and in `looks` instances of looks drawn from `names`, each at
    STORED_SIDE."""
    seed, index, looks, names = args
    rng = np.random.default_rng([seed, index])
    photos = _photos()
    scene = training_scene(rng, photos)
    out = [scene]
    for _ in range(looks):
        look = get_look(names[int(rng.integers(len(names)))])
        out.append(look.instance([seed, index, int(rng.integers(1 << 30))])(scene))
    scale = STORED_SIDE / max(scene.shape[:2])
    return [cv2.resize(v, (max(int(v.shape[1] * scale), 8), max(int(v.shape[0] * scale), 8)),
                       interpolation=cv2.INTER_AREA) for v in out]


_PHOTOS: dict[str, np.ndarray] = {}


def _photos() -> dict[str, np.ndarray]:
    if not _PHOTOS:
        _PHOTOS.update({name: load() for name, load in TRAINING_PHOTOS.items()})
    return _PHOTOS


def render(work: Path, scenes: int, looks: int, seed: int, names: tuple[str, ...]) -> list[list[np.ndarray]]:
    """Every scene's renderings (plain first) in looks drawn from `names`, cached in `work`."""
    key = hashlib.sha256(" ".join(names).encode()).hexdigest()[:10]  # which looks: a run per family has its own
    path = work / f"renders-{scenes}-{looks}-{seed}-{key}.npz"
    if path.is_file():
        stored = np.load(path)
        return [[stored[f"{i}_{j}"] for j in range(looks + 1)] for i in range(scenes)]
    with Pool(2) as pool:
        renders = pool.map(_render_scene, [(seed, i, looks, names) for i in range(scenes)], chunksize=8)
    work.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"{i}_{j}": v for i, vs in enumerate(renders) for j, v in enumerate(vs)})
    return renders


def view(img: np.ndarray, rng: np.random.Generator, least: float) -> np.ndarray:
    """A copy-like view of a rendering: a crop keeping `least`..1 of each side, maybe JPEG-compressed, as the
    (SIDE, SIDE) blurred grey frame `copy_descriptor.grey` makes."""
    h, w = img.shape[:2]
    ch, cw = int(h * rng.uniform(least, 1.0)), int(w * rng.uniform(least, 1.0))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = np.ascontiguousarray(img[y : y + ch, x : x + cw])
    if rng.random() < 0.8:
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 95))])
        crop = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return grey(crop)


# ---------------------------------------------------------------- the network
class CopyNet(nn.Module):
    """Four 3x3 conv layers (64 → 32 → 16 → 8 px, then one at 8 px), GeM pooling, a linear map to DIM, unit length:
    small enough to train in minutes on two CPU cores."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for a, b, stride in ((1, 32, 2), (32, 64, 2), (64, 128, 2), (128, 128, 1)):
            layers += [nn.Conv2d(a, b, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(b),
                       nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.p = nn.Parameter(torch.tensor(3.0))
        self.head = nn.Linear(128, DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / (x.std(dim=(1, 2, 3), keepdim=True) + 1e-3)
        f = self.body(x).clamp_min(1e-6).pow(self.p).mean(dim=(2, 3)).pow(1 / self.p)
        return F.normalize(self.head(f), dim=1)


def info_nce(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over 2B views: each view's positive is the other view of its scene."""
    z = torch.cat([a, b])
    sim = z @ z.T / TEMPERATURE
    sim.fill_diagonal_(-1e9)
    n = len(a)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(sim, target)


def train(renders: list[list[np.ndarray]], steps: int, batch: int, seed: int) -> tuple[CopyNet, list[float]]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = CopyNet()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    losses = []
    for step in range(steps):
        idx = rng.choice(len(renders), size=batch, replace=False)
        pairs = [rng.choice(len(renders[i]), size=2, replace=False) for i in idx]
        a = np.stack([view(renders[i][p[0]], rng, 0.8) for i, p in zip(idx, pairs)])
        b = np.stack([view(renders[i][p[1]], rng, 0.6) for i, p in zip(idx, pairs)])
        net.train()
        loss = info_nce(net(torch.from_numpy(a)[:, None]), net(torch.from_numpy(b)[:, None]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step} loss {np.mean(losses[-100:]):.3f}", flush=True)
    return net, losses


@torch.no_grad()
def keyframe_vectors(net: CopyNet, frames: np.ndarray) -> np.ndarray:
    """(n, S, S, 3) keyframes → (n, DIM) unit vectors, mirror-symmetric: unit(f(x) + f(mirror(x)))."""
    net.eval()
    g = torch.from_numpy(region_greys(frames))[:, None]
    v = net(g) + net(torch.flip(g, dims=[3]))
    return F.normalize(v, dim=1).numpy()


def learned_score(a: np.ndarray, b: np.ndarray) -> float:
    """The better direction's mean over keyframes of the best cosine to the other video's keyframes."""
    sim = a @ b.T
    return float(max(sim.max(axis=1).mean(), sim.max(axis=0).mean()))


def family_set(work: Path, family: str) -> Path:
    """A copy set in one training family's looks (module docstring), written once under `work`; its labels.csv."""
    out = work / f"family-{family}"
    labels = out / "labels.csv"
    if labels.is_file():
        return labels
    spec = SplitSpec("train", FAMILY_SEED + families_in("train").index(family), TRAIN_EDITS, FAMILIES[family])
    items = draw_items(spec, list(CONTENTS))
    renderer = _Renderer(out, spec.seed)
    for item in items:
        renderer.render(item)
    write_labels(labels, items)
    return labels


def _prepared(frames: dict[str, list[np.ndarray | None]]) -> dict[str, list]:
    """Every set's hand-built descriptors, prepared for matching."""
    return {name: [None if f is None else prepare(describe(f)) for f in fs] for name, fs in frames.items()}


def _shipped(sets: dict, prepared: dict[str, list]) -> dict[str, SplitData]:
    """Every set's shipped (hand-built) scores, normalised against its background set (`BACKGROUND`)."""
    out = {}
    for name in sets:
        bg = [p for p in prepared[BACKGROUND.get(name, "second")] if p is not None]
        out[name] = _split(sets[name], _pair_scores(prepared[name], ()), _background(prepared[name], bg, ()))
    return out


def _compare(net: CopyNet, sets: dict, frames: dict, shipped: dict[str, SplitData],
             weights: list[float]) -> dict[str, dict[str, SplitData]]:
    """Every set's `shipped` scores beside its learned ones (normalised against the same background set) and the
    fusions."""
    vectors = {name: [None if f is None else keyframe_vectors(net, f) for f in fs] for name, fs in frames.items()}
    data: dict[str, dict[str, SplitData]] = {"shipped": shipped, "learned": {}}
    for name in sets:
        bg = [v for v in vectors[BACKGROUND.get(name, "second")] if v is not None]
        data["learned"][name] = _split(sets[name], pair_matrix(vectors[name], learned_score),
                                       background_matrix(vectors[name], bg, learned_score))
    for w in weights:
        data[f"shipped + {w:g} learned"] = {
            name: _split(sets[name], shipped[name].copy_for(BETA) + w * data["learned"][name].copy_for(BETA),
                         np.zeros(len(sets[name]))) for name in sets}
    return data


def _families(args: argparse.Namespace, sets: dict) -> dict:
    """`--families` (module docstring): per family, shipped vs fused µAP on its set, the network trained without it."""
    out: dict = {"families": {}}
    base_sets = {"train": sets["train"], "second": sets["second"]}  # the threshold's and the background's sets
    base_frames = _frames(base_sets, args.frames)
    base_prepared = _prepared(base_frames)
    base_shipped = _shipped(base_sets, base_prepared)
    for family in args.families:
        name = f"family-{family}"
        labels = family_set(args.work, family)
        names = tuple(n for f in families_in("train") if f != family for n in FAMILIES[f])
        renders = render(args.work, args.scenes, args.looks_per_scene, args.seed, names)
        net, losses = train(renders, args.steps, args.batch, args.seed)
        fam_sets = {**base_sets, name: read_items(labels)}
        fam_frames = {**base_frames, **_frames({name: fam_sets[name]}, args.frames)}
        shipped = {**base_shipped,
                   **_shipped({name: fam_sets[name]}, {**base_prepared, **_prepared({name: fam_frames[name]})})}
        data = _compare(net, fam_sets, fam_frames, shipped, args.weights)
        threshold = {cand: _threshold(splits["train"]) for cand, splits in data.items()}
        out["families"][family] = {"loss_last_100": round(float(np.mean(losses[-100:])), 3), **{
            cand: _detection(splits[name], threshold[cand]) for cand, splits in data.items()}}
        print(family, json.dumps({c: r["micro_ap"] for c, r in out["families"][family].items()
                                  if isinstance(r, dict)}), flush=True)
    cands = [c for c in out["families"][args.families[0]] if c != "loss_last_100"]
    out["mean"] = {c: round(float(np.mean([out["families"][f][c]["micro_ap"] for f in args.families])), 4)
                   for c in cands}
    best = max((c for c in cands if c != "shipped"), key=out["mean"].get)
    out["rule"] = {"best": best, "gain": round(out["mean"][best] - out["mean"]["shipped"], 4),
                   "selects": out["mean"][best] - out["mean"]["shipped"] >= MIN_GAIN}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--fresh", type=Path, required=True)
    parser.add_argument("--frames", type=Path, required=True, help="decoded keyframes cache (bench/copy_static_pixels)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scenes", type=int, default=600)
    parser.add_argument("--looks-per-scene", type=int, default=4)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unseen-looks", action="store_true",
                        help="train on training-family looks outside SELECTION_LOOKS, so that the selection sets "
                        "measure looks the network never saw")
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="more held-out splits' labels.csv to report")
    parser.add_argument("--families", nargs="*", help="leave each of these training families out in turn (module "
                        "docstring); none named: all six")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    args = parser.parse_args()
    torch.set_num_threads(2)
    items = read_items(args.bench)
    sets = {"train": [i for i in items if i.split == "train"], "second": read_items(args.second),
            "test": [i for i in items if i.split == "test"], "fresh": read_items(args.fresh),
            **{labels.parent.name: read_items(labels) for labels in args.extra}}
    if args.families is not None:
        args.families = args.families or list(families_in("train"))
        out = _families(args, sets)
        print(json.dumps(out, indent=1))
        if args.json:
            args.json.write_text(json.dumps(out, indent=1) + "\n")
        return
    names = tuple(n for n in looks_in("train") if not (args.unseen_looks and n in SELECTION_LOOKS))
    t0 = time.perf_counter()
    renders = render(args.work, args.scenes, args.looks_per_scene, args.seed, names)
    t_render = time.perf_counter() - t0
    net, losses = train(renders, args.steps, args.batch, args.seed)
    t_train = time.perf_counter() - t0 - t_render
    torch.save(net.state_dict(), args.work / f"copynet-{args.seed}{'-unseen' if args.unseen_looks else ''}.pt")
    frames = _frames(sets, args.frames)
    data = _compare(net, sets, frames, _shipped(sets, _prepared(frames)), args.weights)
    out: dict = {"run": {"scenes": args.scenes, "looks_per_scene": args.looks_per_scene, "steps": args.steps,
                         "batch": args.batch, "seed": args.seed, "looks": list(names), "render_s": round(t_render, 1),
                         "train_s": round(t_train, 1), "loss_first_100": round(float(np.mean(losses[:100])), 3),
                         "loss_last_100": round(float(np.mean(losses[-100:])), 3)}, "candidates": {}}
    for cand, splits in data.items():
        threshold = _threshold(splits["train"])
        out["candidates"][cand] = {"threshold": threshold,
                                   **{name: _detection(d, threshold) for name, d in splits.items()}}
    base = out["candidates"]["shipped"]
    mean = {c: (r["train"]["micro_ap"] + r["second"]["micro_ap"]) / 2 for c, r in out["candidates"].items()}
    passing = {c: mean[c] for c, r in out["candidates"].items() if c != "shipped"
               and mean[c] - mean["shipped"] >= MIN_GAIN
               and all(base[s]["micro_ap"] - r[s]["micro_ap"] <= MAX_AP_DROP for s in ("train", "second"))}
    out["rule"] = {"training_mean": {c: round(v, 4) for c, v in mean.items()},
                   "chosen": max(passing, key=passing.get) if passing else None}
    # cost: one keyframe's learned vector (both orientations), on this machine
    probe = frames["test"][0]
    t = time.perf_counter()
    for _ in range(5):
        keyframe_vectors(net, probe)
    out["run"]["ms_per_keyframe"] = round((time.perf_counter() - t) / 5 / len(probe) * 1000, 2)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
