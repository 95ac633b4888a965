"""The content head: chosen by leave-one-family-out on the training families, then run once on held-out families.

1. Training data: `vidstyle train-content-head`'s (training scenes in training-family looks, `ContentHeadTraining`),
   its hand-built content vectors computed once and cached (`--cache`).
2. Leave-one-family-out (training families only, so it may guide a choice): for each training family F and each
   (shrinkage, dim) of the grid, a projection is fitted on the frames of the other training families and scored on
   the content triplets of training-split benchmarks whose look family is F, beside the hand-built vector on the same
   triplets. The choice is the grid point with the best mean over left-out families (ties: the smaller dim).
   With `--composed-looks K`, the same grid is also fitted on the training data plus K composed looks per group
   (`ContentHeadTraining.composed_looks`; a left-out family's compositions are left out with it); that data is
   chosen only if its best left-out mean beats the shipped data's best by `--data-margin` or more.
3. Held-out families, once, with the choice fixed: the projection fitted on every training family (what
   `vidstyle train-content-head` writes with those values), the hand-built content vector (the earlier default) and
   the 8x8 thumbnail baseline, on the same decoded frames in the same run, per benchmark, kind and family.

Per benchmark file, the frames are decoded as the embedder decodes them, the moving-region mask is computed as
`Embedder` does, and the hand-built per-frame content vectors (`FeatureExtractor.hand_content`) are cached beside the
benchmark; a file's vector is the mean of its frame vectors, re-normalised (`aggregate_frames`).

    python bench/quality_content.py --train-bench /tmp/vidstyle-generalise/train-1{0,1,2,3,4,5} \\
        --heldout-bench /tmp/vidstyle-generalise/heldout-1{0,1,2} --out bench/quality_content.json
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from vidstyle.backbones import load_backbone
from vidstyle.core.settings import load_settings
from vidstyle.core.vectors import unit
from vidstyle.embedder.content_head import fit_projection, load_content_head, packaged_content_head
from vidstyle.embedder.features import FeatureExtractor
from vidstyle.embedder.regions import moving_region_weights
from vidstyle.embedder.train_content_head import ContentHeadTraining, hand_content_vectors, scene_labels
from vidstyle.embedder.train_style_head import render_training_frames
from vidstyle.evaluation.baseline import thumbnail
from vidstyle.media.decode import decode_file
from vidstyle.media.looks import COMPOSE_MARK, SPLITS, source_families

REPO = Path(__file__).resolve().parents[1]
SHRINKAGE = (0.1, 1.0, 10.0)
DIMS = (32, 64, 128, 1024)


def key_of(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def training_vectors(fx: FeatureExtractor, cfg: ContentHeadTraining, cache: Path, part: str = "base"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, scene labels, look families joined by `COMPOSE_MARK`) of the training frames; cached by what they depend
    on. `part`: "base", or "composed" for the composed looks alone (cached apart, so the base file is reused)."""
    key = key_of(cfg.rendering().data_key(), cfg.recorded(), fx.content_features())  # data_key: the looks
    path = cache / f"content-train-{key}.npz" if part == "base" else cache / f"content-{part}-{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["x"], z["scenes"], z["families"]
    data = render_training_frames(cfg.rendering(), fx.settings.input_size, part=part)
    x = hand_content_vectors(fx, data.frames)
    scenes = scene_labels(data.groups, cfg.contents_per_group)
    families = np.array([COMPOSE_MARK.join(source_families(data.looks[i])) for i in data.labels])
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, scenes=scenes, families=families)
    return x, scenes, families


def bench_frames(bench: Path, fx: FeatureExtractor, max_frames: int, min_gap_s: float
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per file: (per-frame hand-built content vectors, 8x8 thumbnail baseline); cached beside the benchmark."""
    cache = bench / f"content_hand-{key_of(fx.content_features(), fx.settings.content_mask, max_frames)}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return {k[2:]: (z[k], z["t:" + k[2:]]) for k in z.files if k.startswith("x:")}
    with (bench / "triplets.csv").open() as fh:
        paths = sorted({row[c] for row in csv.DictReader(fh) for c in "abc"})
    out = {}
    for p in paths:
        frames = decode_file(bench / p, fx.settings.input_size, max_frames, min_gap_s).frames
        mask = moving_region_weights(frames) if fx.settings.content_mask else None
        weights = None if mask is None else np.repeat(mask[None], len(frames), 0)
        out[p] = (fx.hand_content(frames, weights).cpu().numpy(), thumbnail(frames))
    np.savez(cache, **{f"x:{p}": v[0] for p, v in out.items()}, **{f"t:{p}": v[1] for p, v in out.items()})
    return out


def joined_training(fxs: list[FeatureExtractor], cfg: ContentHeadTraining, cache: Path, part: str = "base"
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`training_vectors` of every content input, side by side (the same rendered frames, so one row per frame)."""
    parts = [training_vectors(fx, cfg, cache, part) for fx in fxs]
    if any(not np.array_equal(p[1], parts[0][1]) for p in parts):
        raise RuntimeError("the content inputs' training frames differ: their scene labels do not line up")
    return np.concatenate([p[0] for p in parts], axis=1), parts[0][1], parts[0][2]


def joined_bench(bench: Path, fxs: list[FeatureExtractor], max_frames: int, min_gap_s: float
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`bench_frames` of every content input, side by side per frame (the thumbnail is the first input's)."""
    parts = [bench_frames(bench, fx, max_frames, min_gap_s) for fx in fxs]
    return {p: (np.concatenate([part[p][0] for part in parts], axis=1), parts[0][p][1]) for p in parts[0]}


def file_vectors(frames: dict[str, tuple[np.ndarray, np.ndarray]], projection: tuple | None) -> dict[str, np.ndarray]:
    out = {}
    for p, (x, _) in frames.items():
        z = x if projection is None else unit((x - projection[0]) @ projection[1])
        out[p] = unit(z.mean(0))
    return out


def content_hits(bench: Path, vectors: dict[str, np.ndarray], family: str | None = None,
                 kind: str | None = None) -> list[bool]:
    with (bench / "triplets.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if (family is None or r["family"] == family)
                and (kind is None or r["kind"] == kind)]
    return [bool(vectors[r["b"]] @ vectors[r["c"]] > vectors[r["a"]] @ vectors[r["c"]]) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-bench", type=Path, nargs="+", required=True)
    ap.add_argument("--heldout-bench", type=Path, nargs="*", default=[])
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/vidstyle-content-cache"))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--composed-looks", type=int, default=0,
                    help="also fit the grid on the training data plus this many composed looks per group")
    ap.add_argument("--data-margin", type=float, default=0.01,
                    help="the composed data is chosen only if its best left-out mean is this much higher")
    ap.add_argument("--content-size", type=int, default=None, help="model.content_input_size (default: the config's)")
    ap.add_argument("--content-blur", type=float, default=None, help="model.content_blur (default: the config's)")
    ap.add_argument("--also-input", default=None, metavar="SIZE:BLUR",
                    help="a second content input whose hand-built vector is set beside the first one's per frame")
    ap.add_argument("--report-grid", action="store_true",
                    help="also score every grid point and the packaged head on the held-out families (report only)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    pass_input = {k: v for k, v in (("content_input_size", args.content_size), ("content_blur", args.content_blur))
                  if v is not None}
    settings = load_settings(args.config, {"model": {"style_head": None, "content_head": None,
                                                     "style_representation": "stats", **pass_input}})
    m, d = settings.model, settings.decode
    backbone = load_backbone(m.backbone, m.weights_path)
    fxs = [FeatureExtractor(backbone, m)]
    if args.also_input:
        size, blur = args.also_input.split(":")
        fxs.append(FeatureExtractor(backbone, m.model_copy(update={"content_input_size": int(size),
                                                                   "content_blur": float(blur)})))
    cfg = ContentHeadTraining()
    datasets = {"": joined_training(fxs, cfg, args.cache)}  # prefix of the grid's column names -> its data
    if args.composed_looks > 0:
        composed = joined_training(fxs, dataclasses.replace(cfg, composed_looks=args.composed_looks), args.cache,
                                   "composed")
        datasets["composed "] = tuple(np.concatenate(pair) for pair in zip(datasets[""], composed))
    x, scenes, _ = datasets[""]
    result: dict = {"training": dataclasses.asdict(cfg), "frames": len(x), "lofo": {}, "heldout": {},
                    "composed_looks": args.composed_looks,
                    "content_inputs": [f.content_features()["content_input"] for f in fxs]}

    dims = sorted({*DIMS, x.shape[1]})  # the input's own dimension: every axis kept (a whitening alone)
    grid = [(s, k) for s in SHRINKAGE for k in dims]
    train = {b: joined_bench(b, fxs, d.max_frames, d.min_gap_s) for b in args.train_bench}
    for family in SPLITS["train"]:
        hits: dict[str, list[bool]] = {"hand": [], "thumbnail": []}
        for prefix, (xs, ss, fs) in datasets.items():
            keep = np.array([family not in f.split(COMPOSE_MARK) for f in fs])
            for s, k in grid:
                proj = fit_projection(xs[keep], ss[keep], s, k)
                for bench, frames in train.items():
                    hits.setdefault(f"{prefix}s={s:g} d={k}", []).extend(
                        content_hits(bench, file_vectors(frames, proj), family))
        for bench, frames in train.items():
            hits["hand"].extend(content_hits(bench, file_vectors(frames, None), family))
            hits["thumbnail"].extend(content_hits(bench, {p: unit(t) for p, (_, t) in frames.items()}, family))
        result["lofo"][family] = {n: (float(np.mean(h)), len(h)) for n, h in hits.items()}
        print(family, {n: round(v[0], 3) for n, v in result["lofo"][family].items()}, flush=True)
    means = {n: float(np.mean([r[n][0] for r in result["lofo"].values()])) for n in next(iter(result["lofo"].values()))}

    def best_of(prefix: str) -> tuple[float, float, int]:
        best = max(means[f"{prefix}s={s:g} d={k}"] for s, k in grid)
        s, k = min(((s, k) for s, k in grid if means[f"{prefix}s={s:g} d={k}"] == best), key=lambda g: (g[1], g[0]))
        return best, s, k

    best, s_best, k_best = best_of("")
    data = ""
    if "composed " in datasets and best_of("composed ")[0] - best >= args.data_margin:
        data, (best, s_best, k_best) = "composed ", best_of("composed ")
    result["choice"] = {"shrinkage": s_best, "dim": k_best, "lofo_mean": best, "composed": bool(data)}
    print(f"chosen on training families: {data or 'shipped '}data, shrinkage {s_best:g}, dim {k_best} "
          f"(mean {best:.3f})", flush=True)

    x, scenes, _ = datasets[data]
    proj = fit_projection(x, scenes, s_best, k_best)
    report: dict[str, tuple] = {}
    if args.report_grid:  # no choice rests on these: the choice above is fixed before they are computed
        packaged = packaged_content_head(m.backbone)
        if packaged is not None and not args.also_input:  # the packaged head reads one input
            head = load_content_head(packaged)
            report["packaged"] = (head.mean.numpy(), head.projection.numpy())
        report |= {f"{prefix}s={s:g} d={k}": fit_projection(xs, ss, s, k) for prefix, (xs, ss, _) in datasets.items()
                   for s, k in grid}
    for bench in args.heldout_bench:
        frames = joined_bench(bench, fxs, d.max_frames, d.min_gap_s)
        vecs = {"thumbnail": {p: unit(t) for p, (_, t) in frames.items()}, "hand": file_vectors(frames, None),
                "head": file_vectors(frames, proj)} | {n: file_vectors(frames, r) for n, r in report.items()}
        with (bench / "triplets.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        groups = [("all", None, None)] + [(f"kind:{k}", None, k) for k in sorted({r["kind"] for r in rows})] + [
            (f"family:{f}", f, None) for f in sorted({r["family"] for r in rows})]
        result["heldout"][bench.name] = {
            g: {n: (float(np.mean(h)), len(h)) for n, v in vecs.items() if (h := content_hits(bench, v, f, k))}
            for g, f, k in groups}
        print(bench.name, {n: round(v[0], 3) for n, v in result["heldout"][bench.name]["all"].items()}, flush=True)

    names = list(next(iter(result["lofo"].values())))
    lines = ["| left-out training family | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for fam, row in result["lofo"].items():
        lines.append(f"| {fam} | {row['hand'][1]} | " + " | ".join(f"{row[n][0]:.3f}" for n in names) + " |")
    lines.append("| **mean** | | " + " | ".join(f"{np.mean([r[n][0] for r in result['lofo'].values()]):.3f}"
                                          for n in names) + " |")
    if result["heldout"]:
        runs = list(result["heldout"].values())
        cols = ["thumbnail", "hand", "head", *report]
        lines += ["", "| held-out group | n | thumbnail | hand (earlier default) | head | " + " | ".join(report)
                  + " |", "|---|---|" + "---|" * len(cols)]
        for g in runs[0]:
            n = sum(r[g]["hand"][1] for r in runs if g in r)
            cells = [f"{np.mean([r[g][v][0] for r in runs if g in r]):.3f}" for v in cols]
            lines.append(f"| {g} | {n} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
