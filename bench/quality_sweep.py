"""Choose the embedding defaults by measurement: taps x pooling x normalisation x masking, over several seeds.

Stage 1 (`extract`): for generated benchmarks (`vidstyle make-benchmark`, one per seed), decode every file like
the pipeline does, run the backbone once with *every* tap, and store per-frame descriptors (channel mean/std of
each tap, Gram sketches, pooled content features with and without the static-template mask, the same on the
masked crop) plus the no-CNN baselines. Stage 2 (`score`): build each candidate style/content vector from the
stored descriptors in numpy and score triplets per kind and retrieval mAP, mean and spread over seeds.
One backbone pass per file serves hundreds of variants, which is what makes this affordable on 2 CPU cores.

    python bench/quality_sweep.py --seeds 0 1 2 --n 30 --work /tmp/vidstyle-sweep --out bench/quality_sweep.json
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.backbones import frames_to_tensor, load_backbone
from vidstyle.core.settings import ModelSettings, load_settings
from vidstyle.embedder.features import FeatureExtractor, content_frames
from vidstyle.embedder.regions import moving_region_weights
from vidstyle.evaluation.baseline import baseline_vectors
from vidstyle.evaluation.benchmark import make_benchmark
from vidstyle.evaluation.metrics import TripletSims, accuracy, retrieval_scores
from vidstyle.media.decode import decode_file

REPO = Path(__file__).resolve().parents[1]

TAPS = ("stem", *(f"block{i}" for i in range(16)), "head")
GRAM_TAPS = ("stem", "block0", "block1", "block2", "block3", "block4")
CONTENT_TAPS = ("block10", "block12", "block14", "block15", "head")
GRAM_CHANNELS = 22


def legacy_mask(frames: np.ndarray, grid: int = 28, threshold: float = 6.0) -> np.ndarray | None:
    """The first static-template mask (before this sweep): dilated per-cell motion, no box."""
    import cv2

    if len(frames) < 2:
        return None
    gray = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (grid, grid), interpolation=cv2.INTER_AREA)
                     for f in frames]).astype(np.float32)
    moving = cv2.dilate((gray.std(axis=0) > threshold).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return None if not 0.05 <= moving.mean() <= 0.8 else moving.astype(np.float32)


# ---------------------------------------------------------------- stage 1: descriptors
CONTENT_INPUTS: dict[str, tuple[int, bool, float, bool]] = {
    # name: (side, grayscale, blur sigma, crop to the moving box when a template frames it)
    "g112b1": (112, True, 1.0, True),
    "g112b1-nomask": (112, True, 1.0, False),
    "g112b2": (112, True, 2.0, True),
    "c112b1": (112, False, 1.0, True),
}
"""Content-pass inputs compared; the `full` source (colour, 224, whole frame, from the all-taps pass) is the
single-pass design this sweep replaced, and `oldmask` its first static-region mask."""


class TapRunner:
    """The offline backbone with every tap exposed, and the per-frame descriptors the sweep needs."""

    def __init__(self) -> None:
        settings = load_settings(REPO / "configs" / "offline.yaml")
        self.decode = settings.decode
        self.model_settings = settings.model
        m = ModelSettings(**{**settings.model.model_dump(), "style_taps": list(GRAM_TAPS),
                             "content_taps": list(CONTENT_TAPS), "gram_channels": GRAM_CHANNELS})
        self.size = m.input_size
        self.backbone = load_backbone(m.backbone)
        self.fx = FeatureExtractor(self.backbone, m)
        self.all_taps = self.backbone.tap_model(TAPS)

    def taps(self, frames: np.ndarray, model: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
        return self.fx._taps(model or self.all_taps, frames_to_tensor(frames))

    def gram(self, tap: str, f: torch.Tensor) -> torch.Tensor:
        sk = torch.einsum("kc,nch->nkh", self.fx.sketch[tap], f.flatten(2))
        g = sk @ sk.transpose(1, 2) / f.shape[2] / f.shape[3]
        return g[:, self.fx.triu[0], self.fx.triu[1]] * self.fx.triu_scale

    @staticmethod
    def pooled(f: torch.Tensor, w: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if w is not None:
            w = F.interpolate(w[:, None], size=f.shape[2:], mode="area")
            return {"mavg": (f * w).sum((2, 3)) / w.sum((2, 3)).clamp_min(1e-6)}
        gem = f.clamp_min(1e-6).pow(3).mean((2, 3)).pow(1 / 3)
        return {"avg": f.mean((2, 3)), "gem": gem}

    def describe(self, path: Path) -> dict[str, np.ndarray]:
        d = self.decode
        frames = decode_file(path, self.size, d.max_frames, d.min_gap_s).frames
        out: dict[str, np.ndarray] = {f"base.{k}": v[None] for k, v in baseline_vectors(frames).items()}
        n = len(frames)
        new, old = moving_region_weights(frames), legacy_mask(frames)
        out["mask.static"] = np.array([0.0 if new is None else 1.0 - new.mean()], np.float32)
        with torch.inference_mode():
            taps = self.taps(frames)
            for t, f in taps.items():
                flat = f.flatten(2)
                out[f"{t}.mean"], out[f"{t}.std"] = flat.mean(2), flat.std(2)
                if t in GRAM_TAPS:
                    out[f"{t}.gram"] = self.gram(t, f)
                if t in CONTENT_TAPS and old is not None:
                    out[f"{t}.oldmask"] = self.pooled(f, torch.from_numpy(np.repeat(old[None], n, 0)))["mavg"]
            weights = None if new is None else np.repeat(new[None], n, 0)
            for name, (side, gray, blur, crop) in CONTENT_INPUTS.items():
                settings = self.model_settings.model_copy(
                    update={"content_input_size": side, "content_grayscale": gray, "content_blur": blur})
                ctaps = self.taps(content_frames(frames, weights if crop else None, settings), self.fx.content_model)
                for t, f in ctaps.items():
                    out |= {f"{t}.{name}.{k}": v for k, v in self.pooled(f).items()}
        return {k: np.asarray(v, np.float32) for k, v in out.items()}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def extract(bench_dir: Path, runner: TapRunner) -> Path:
    """Descriptors of every file of one benchmark, one .npz per file under bench_dir/descriptors."""
    out = bench_dir / "descriptors"
    out.mkdir(exist_ok=True)
    rows = read_csv(bench_dir / "labels.csv")
    t0 = time.monotonic()
    for i, row in enumerate(rows):
        target = out / (row["path"].replace("/", "__") + ".npz")
        if not target.exists():
            np.savez(target, **runner.describe(bench_dir / row["path"]))
        if i % 25 == 0:
            print(f"  {bench_dir.name}: {i + 1}/{len(rows)} files, {time.monotonic() - t0:.0f} s", flush=True)
    return out


# ---------------------------------------------------------------- stage 2: variants
@dataclass
class Bench:
    """One seed's benchmark: descriptors per file, labels, triplet indices."""

    paths: list[str]
    desc: list[dict[str, np.ndarray]]
    content: list[str]
    style: list[str]
    kind: list[str]
    triplets: np.ndarray  # (t, 3) indices a, b, c
    triplet_kind: list[str]

    @classmethod
    def load(cls, bench_dir: Path) -> Bench:
        labels = read_csv(bench_dir / "labels.csv")
        index = {r["path"]: i for i, r in enumerate(labels)}
        desc = []
        for r in labels:
            with np.load(bench_dir / "descriptors" / (r["path"].replace("/", "__") + ".npz")) as z:
                desc.append({k: z[k] for k in z.files})
        trips = read_csv(bench_dir / "triplets.csv")
        return cls([r["path"] for r in labels], desc, [r["content_id"] for r in labels],
                   [r["style_id"] for r in labels], [r["kind"] for r in labels],
                   np.array([[index[t["a"]], index[t["b"]], index[t["c"]]] for t in trips]),
                   [t["kind"] for t in trips])


def l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def ssqrt(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.sqrt(np.abs(x))


Block = Callable[[dict[str, np.ndarray]], np.ndarray]  # descriptors → (frames, dims)


def item_vectors(bench: Bench, blocks: Sequence[Block], norm: str) -> np.ndarray:
    """Per item: each block per frame (normalised), concatenated, L2; mean over frames; L2.

    norm: l2 (per-block L2), ssqrt (signed square root, then L2), center (subtract the block's mean over the
    benchmark's frames, then L2 — whitening's first step, fitted on the catalogue), white (center + PCA whitening
    fitted on the catalogue with shrinkage).
    """
    per_block = []
    for block in blocks:
        frames = [block(d) for d in bench.desc]
        if norm == "ssqrt":
            frames = [ssqrt(f) for f in frames]
        if norm in ("center", "white"):
            allf = np.concatenate(frames)
            mu = allf.mean(0)
            frames = [f - mu for f in frames]
            if norm == "white":
                cov = np.cov((allf - mu).T) if allf.shape[1] > 1 else np.eye(1)
                vals, vecs = np.linalg.eigh(cov)
                vals = np.maximum(vals, 0) + 0.1 * vals.mean()  # shrinkage: few items, many dims
                proj = vecs / np.sqrt(vals)
                frames = [f @ proj for f in frames]
        per_block.append([l2(f) for f in frames])
    def item(i: int) -> np.ndarray:
        rows = max(len(pb[i]) for pb in per_block)  # frame-level blocks, and per-file ones (the histogram)
        frames = np.concatenate([np.broadcast_to(pb[i], (rows, pb[i].shape[1])) for pb in per_block], 1)
        return l2(l2(frames).mean(0))

    return np.stack([item(i) for i in range(len(bench.desc))])


def score(bench: Bench, vectors: np.ndarray, axis: str) -> dict[str, float]:
    a, b, c = (vectors[bench.triplets[:, j]] for j in range(3))
    sims = TripletSims.from_vectors(a, b, c)
    right = sims.style_right() if axis == "style" else sims.content_right()
    kinds = np.array(bench.triplet_kind)
    out = {k: accuracy(right[kinds == k]) for k in dict.fromkeys(bench.triplet_kind)}
    out["all"] = accuracy(right)
    labels = bench.style if axis == "style" else bench.content
    out["map"] = retrieval_scores(vectors, labels, 10)["map"]
    return out


def get(key: str) -> Block:
    return lambda d: np.atleast_2d(d[key])


def stats_block(tap: str, which: str = "stats") -> Block:
    if which == "mean":
        return get(f"{tap}.mean")
    if which == "std":
        return get(f"{tap}.std")
    return lambda d: np.concatenate([d[f"{tap}.mean"], d[f"{tap}.std"]], 1)


def content_block(tap: str, source: str, pool: str) -> Block:
    """source: a CONTENT_INPUTS name, or 'full' (the colour 224 pass, whole frame) / 'oldmask' (its legacy
    masked pooling, which falls back to the whole frame where that mask did not apply)."""
    if source == "full":
        return get(f"{tap}.{'mean' if pool == 'avg' else pool}")
    if source == "oldmask":
        return lambda d: d[f"{tap}.oldmask"] if f"{tap}.oldmask" in d else d[f"{tap}.mean"]
    return get(f"{tap}.{source}.{pool}")


def style_variants() -> dict[str, tuple[list[Block], str]]:
    tapsets = {
        "stem": ("stem",), "stem+b0": ("stem", "block0"), "stem+b0+b1": ("stem", "block0", "block1"),
        "stem+b0+b2": ("stem", "block0", "block2"), "stem+b0+b2+b4": ("stem", "block0", "block2", "block4"),
        "stem+b2+b4+b7": ("stem", "block2", "block4", "block7"), "b0+b1+b2": ("block0", "block1", "block2"),
        "stem..b4": ("stem", "block0", "block1", "block2", "block3", "block4"),
    }
    out = {}
    for (tname, taps), which, norm, hist in itertools.product(tapsets.items(), ("stats", "mean", "gram"),
                                                               ("l2", "ssqrt", "center", "white"), (0, 1, 2)):
        if which == "gram" and any(t not in GRAM_TAPS for t in taps) or (norm == "white" and len(taps) > 2):
            continue
        blocks = [get(f"{t}.gram") if which == "gram" else stats_block(t, which) for t in taps]
        # + colour histogram: once (weight of one tap), or as many times as there are taps (half the vector)
        blocks += [get("base.style")] * (0 if hist == 0 else 1 if hist == 1 else len(taps))
        out[f"{which} {tname}{['', ' +hist', ' +hist*T'][hist]} {norm}"] = (blocks, norm)
    return out


def content_variants() -> dict[str, tuple[list[Block], str]]:
    tapsets = {"head": ("head",), "b15": ("block15",), "b14": ("block14",), "b12": ("block12",),
               "b15+head": ("block15", "head"), "b12+b15": ("block12", "block15"), "b10+head": ("block10", "head"),
               "b12+b15+head": ("block12", "block15", "head")}
    sources = ["full", "oldmask", *CONTENT_INPUTS]
    out = {}
    for (tname, taps), source, pool, norm in itertools.product(
        tapsets.items(), sources, ("avg", "gem"), ("l2", "ssqrt", "center")
    ):
        if source in ("oldmask", "full") and pool != "avg":
            continue
        out[f"{pool} {tname} {source} {norm}"] = ([content_block(t, source, pool) for t in taps], norm)
    return out


def summarise(results: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = results[0].keys()
    return {k: {"mean": float(np.mean([r[k] for r in results])), "min": float(np.min([r[k] for r in results])),
                "max": float(np.max([r[k] for r in results]))} for k in keys}


def run_scores(benches: list[Bench], axes: Sequence[str] = ("style", "content")) -> dict[str, dict]:
    table: dict[str, dict] = {axis: {} for axis in axes}
    if "style" in axes:
        table["style"]["baseline colour-histogram"] = summarise(
            [score(b, item_vectors(b, [get("base.style")], "l2"), "style") for b in benches])
    if "content" in axes:
        table["content"]["baseline 8x8-thumbnail"] = summarise(
            [score(b, item_vectors(b, [get("base.content")], "l2"), "content") for b in benches])
    for axis, variants in (("style", style_variants()), ("content", content_variants())):
        if axis not in axes:
            continue
        for name, (blocks, norm) in variants.items():
            table[axis][name] = summarise([score(b, item_vectors(b, blocks, norm), axis) for b in benches])
    return table


def print_top(table: dict[str, dict], top: int) -> None:
    for axis, rows in table.items():
        kinds = [k for k in next(iter(rows.values())) if k not in ("all", "map")]
        ranked = sorted(((k, v) for k, v in rows.items() if not k.startswith("baseline")),
                        key=lambda kv: -(kv[1]["all"]["mean"] + 0.5 * kv[1]["map"]["mean"]))
        print(f"\n== {axis}: top {top} by mean accuracy + mAP/2 ({len(rows)} variants)")
        header = "".join(f"{k:>13s}" for k in [*kinds, "all", "map"])
        print(f"{'variant':44s}{header}")
        base = [kv for kv in rows.items() if kv[0].startswith("baseline")]
        for name, r in base + ranked[:top]:
            cols = [*kinds, "all", "map"]
            cells = "".join(f"{r[k]['mean']:6.3f}±{(r[k]['max'] - r[k]['min']) / 2:5.3f} " for k in cols)
            print(f"{name:44s}{cells}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n", type=int, default=30, help="triplets per kind")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vidstyle-sweep"))
    ap.add_argument("--out", type=Path, default=None, help="write the full table as JSON")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--axes", nargs="+", default=["style", "content"], choices=["style", "content"])
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    runner = None
    dirs = []
    for seed in args.seeds:
        d = args.work / f"seed{seed}-n{args.n}"
        if not (d / "labels.csv").exists():
            print(f"generating benchmark seed {seed} -> {d}", flush=True)
            make_benchmark(d, n=args.n, seed=seed)
        runner = runner or TapRunner()
        extract(d, runner)
        dirs.append(d)
    benches = [Bench.load(d) for d in dirs]
    table = run_scores(benches, args.axes)
    print_top(table, args.top)
    if args.out:
        args.out.write_text(json.dumps({"seeds": args.seeds, "n": args.n, "table": table}, indent=1))
        print(f"\nfull table -> {args.out}")


if __name__ == "__main__":
    main()
