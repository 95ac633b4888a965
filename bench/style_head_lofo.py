"""Does a learned style head generalise to look families it never saw? Leave-one-family-out on the training
families, then the held-out families, every style representation computed from the same per-frame blocks.

1. Leave-one-family-out (training families only, so it may guide a choice): for each training family F, a head
   is trained on the other training families (`HeadTraining.exclude_families`) and scored on the triplets of a
   training-split benchmark whose look family is F, beside the hand-built vectors on the same triplets.
2. Held-out families (report only): the shipped head (trained on all training families) and the hand-built
   vectors on held-out benchmarks.

Per file, the backbone's style blocks of its decoded frames (`FeatureExtractor.style_blocks`) are computed once
(cached beside the benchmark); every representation is a function of them, mirroring `FeatureExtractor`:
`rgb` (the palette histogram), `stats` (colour-tap statistics + histogram), `texture` (luminance texture at two
scales + chroma + tone), `learned` (the head), `learned+stats` (both, concatenated at equal weight).

    python bench/style_head_lofo.py --train-bench /tmp/vidstyle-generalise/train-10 \\
        --heldout-bench /tmp/vidstyle-generalise/heldout-1{0,1,2} --cache /tmp/hcache --out bench/style_head_lofo.json
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch

from vidstyle.backbones import load_backbone
from vidstyle.core.settings import load_settings
from vidstyle.core.vectors import unit
from vidstyle.embedder.features import FeatureExtractor
from vidstyle.embedder.style_head import load_style_head, packaged_head
from vidstyle.embedder.train_style_head import HeadTraining, embed_with_head, extract_blocks, train_style_head
from vidstyle.media.decode import decode_file
from vidstyle.media.looks import SPLITS

REPO = Path(__file__).resolve().parents[1]


def file_blocks(bench: Path, fx: FeatureExtractor, max_frames: int, min_gap_s: float) -> dict[str, np.ndarray]:
    """Per file of the benchmark, (frames, D) concatenated style blocks; cached in bench/style_blocks.npz."""
    cache = bench / "style_blocks.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    with (bench / "triplets.csv").open() as fh:
        paths = sorted({row[c] for row in csv.DictReader(fh) for c in "abc"})
    out = {}
    for p in paths:
        frames = decode_file(bench / p, fx.settings.input_size, max_frames, min_gap_s).frames
        out[p] = extract_blocks(fx, frames)
    np.savez(cache, **out)
    return out


def representations(blocks: dict[str, np.ndarray], layout: dict[str, int], heads: dict) -> dict[str, dict]:
    """Video vectors per representation (frame vectors averaged, then unit), from the blocks."""
    edges = np.cumsum([0, *layout.values()])
    spans = {name: slice(a, b) for name, a, b in zip(layout, edges[:-1], edges[1:])}

    def part(x: np.ndarray, prefix: str) -> list[np.ndarray]:
        return [x[:, spans[n]] for n in layout if n.startswith(prefix)]

    def ssqrt_l2(x: np.ndarray) -> np.ndarray:
        return unit(np.sign(x) * np.sqrt(np.abs(x)))

    out: dict[str, dict] = {}
    for path, x in blocks.items():
        per_frame = {
            "rgb": x[:, spans["rgb"]],
            "stats": unit(np.concatenate([*part(x, "colour/"), ssqrt_l2(x[:, spans["rgb"]])], 1)),
            "texture": unit(np.concatenate([*part(x, "luma"), x[:, spans["chroma"]] * 2**0.5,
                                            x[:, spans["tone"]] * 2**0.5], 1)),
        }
        for name, head in heads.items():
            learned = embed_with_head(head, x.astype(np.float32))
            per_frame[name] = learned
            per_frame[f"{name}+stats"] = unit(np.concatenate([learned, per_frame["stats"]], 1))
        for name, v in per_frame.items():
            out.setdefault(name, {})[path] = unit(v.mean(0))
    return out


def triplet_accuracy(bench: Path, vectors: dict[str, np.ndarray], family: str | None = None) -> tuple[float, int]:
    with (bench / "triplets.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if family is None or r["family"] == family]
    right = [vectors[r["a"]] @ vectors[r["c"]] > vectors[r["b"]] @ vectors[r["c"]] for r in rows]
    return float(np.mean(right)) if rows else float("nan"), len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-bench", type=Path, required=True)
    ap.add_argument("--heldout-bench", type=Path, nargs="+", required=True)
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hcache"), help="training statistics cache")
    ap.add_argument("--max-frames", type=int, default=4)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    settings = load_settings(args.config, {"model": {"style_head": None, "style_representation": "texture"}})
    m = settings.model
    fx = FeatureExtractor(load_backbone(m.backbone, m.weights_path), m)
    layout = fx.block_layout()
    result: dict = {"lofo": {}, "heldout": {}}

    train_blocks = file_blocks(args.train_bench, fx, args.max_frames, settings.decode.min_gap_s)
    for family in SPLITS["train"]:
        out = Path(f"/tmp/lofo-{family}.pt")
        train_style_head(settings, out, HeadTraining(exclude_families=(family,)), cache_dir=args.cache,
                         progress=False)
        reps = representations(train_blocks, layout, {"learned": load_style_head(out)})
        result["lofo"][family] = {name: triplet_accuracy(args.train_bench, v, family) for name, v in reps.items()}
        print(family, {k: round(v[0], 3) for k, v in result["lofo"][family].items()}, flush=True)

    shipped = {"learned": load_style_head(packaged_head(m.backbone))}
    for bench in args.heldout_bench:
        reps = representations(file_blocks(bench, fx, args.max_frames, settings.decode.min_gap_s), layout, shipped)
        families = sorted({r["family"] for r in csv.DictReader((bench / "triplets.csv").open())})
        result["heldout"][bench.name] = {
            fam: {name: triplet_accuracy(bench, v, None if fam == "all" else fam) for name, v in reps.items()}
            for fam in ["all", *families]
        }
        print(bench.name, {k: round(v[0], 3) for k, v in result["heldout"][bench.name]["all"].items()}, flush=True)

    names = list(next(iter(result["lofo"].values())))
    lines = ["| left-out training family | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for fam, row in result["lofo"].items():
        lines.append(f"| {fam} | {row[names[0]][1]} | " + " | ".join(f"{row[n][0]:.3f}" for n in names) + " |")
    lines.append("| **mean** | | " + " | ".join(f"**{np.mean([r[n][0] for r in result['lofo'].values()]):.3f}**"
                                          for n in names) + " |")
    lines += ["", "| held-out family | n (3 seeds) | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    fams = sorted({f for b in result["heldout"].values() for f in b})
    for fam in fams:
        runs = [b[fam] for b in result["heldout"].values() if fam in b]
        n = sum(r[names[0]][1] for r in runs)
        lines.append(f"| {fam} | {n} | " + " | ".join(f"{np.nanmean([r[k][0] for r in runs]):.3f}" for k in names)
                     + " |")
    print("\n".join(lines))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
