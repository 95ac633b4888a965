"""A social app's own filter presets as an A/B/C family: can any style vector retrieve them across subjects?

Report only (nothing is chosen on it). The look library's families were written by this project; a look prior "from
real catalogues" (bench/RESULTS.md, "What this says") needs looks that users actually meet. The one such inventory
reachable from the package registries is pilgram (`pip install pilgram`, not a project dependency): a third party's
recreation of Instagram's filter presets as CSS operations (colour overlays and blend modes, contrast, saturation,
sepia, brightness, grayscale). Each triplet: C and A one preset on two different training photos
(`train_style_head.TRAINING_PHOTOS`, never benchmark subjects; each item its own random square crop), B C's photo in
another preset; images at 224 px through the production embedding path, beside the RGB histogram on the same files
and the embedding setting that weighs the palette (`model.style_head_palette`).

    python bench/style_social_presets.py WORK --seeds 0 1 --triplets 150 --json bench/style_social_presets.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.core.vectors import unit
from vidstyle.embedder.train_style_head import TRAINING_PHOTOS
from vidstyle.evaluation.baseline import baseline_file_vectors
from vidstyle.evaluation.embedding import embed_files

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
PRESETS = ("aden", "brannan", "brooklyn", "clarendon", "earlybird", "gingham", "hudson", "inkwell", "kelvin", "lark",
           "lofi", "maven", "mayfair", "moon", "nashville", "perpetua", "reyes", "rise", "slumber", "stinson",
           "toaster", "valencia", "walden", "willow", "xpro2")
SETTINGS = {"shipped": {}, "style_head_palette 2": {"model": {"style_head_palette": 2.0}},
            "style_head_palette 4": {"model": {"style_head_palette": 4.0}}}
Triplet = tuple[Path, Path, Path]  # a, b, c


def make_triplets(out: Path, seed: int, n: int) -> list[Triplet]:
    import pilgram
    from PIL import Image as PILImage

    rng = np.random.default_rng(seed)
    photos = {name: load() for name, load in TRAINING_PHOTOS.items()}
    photos = {k: v for k, v in photos.items() if min(v.shape[:2]) >= 200 and v.std() > 20}  # no tiny or blank ones
    names = sorted(photos)

    def render(photo: str, preset: str, tag: str) -> Path:
        h, w = photos[photo].shape[:2]
        side = int(min(h, w) * rng.uniform(0.6, 0.9))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = cv2.resize(photos[photo][y : y + side, x : x + side], (224, 224), interpolation=cv2.INTER_AREA)
        img = np.asarray(getattr(pilgram, preset)(PILImage.fromarray(crop)).convert("RGB"))
        path = out / f"{seed}-{tag}__{photo}__{preset}.png"
        cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        return path

    triplets = []
    for i in range(n):
        f, g = (str(p) for p in rng.choice(PRESETS, 2, replace=False))
        s1, s2 = (str(p) for p in rng.choice(names, 2, replace=False))
        triplets.append((render(s1, f, f"{i}a"), render(s2, g, f"{i}b"), render(s2, f, f"{i}c")))
    return triplets


def accuracy(vectors: dict[Path, np.ndarray], triplets: list[Triplet], axis: str = "style") -> float:
    """Style: A nearer C than B; content: B nearer C than A."""
    v = {p: unit(np.asarray(x, np.float64)) for p, x in vectors.items()}
    hits = [(v[a] @ v[c] > v[b] @ v[c]) == (axis == "style") for a, b, c in triplets]
    return float(np.mean(hits))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--triplets", type=int, default=150)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    result: dict = {}
    for seed in args.seeds:
        triplets = make_triplets(args.work, seed, args.triplets)
        paths = [p for t in triplets for p in t]
        row: dict = {"triplets": len(triplets)}
        for name, override in SETTINGS.items():
            settings = load_settings(OFFLINE, override)
            emb = embed_files(paths, settings, None)
            row[name] = accuracy({p: emb[p].vectors["style"] for p in paths}, triplets)
            if name == "shipped":
                row["content (shipped)"] = accuracy({p: emb[p].vectors["content"] for p in paths}, triplets, "content")
                hist = baseline_file_vectors(paths, settings)
                row["rgb histogram"] = accuracy({p: hist[p]["style"] for p in paths}, triplets)
        result[f"seed {seed}"] = row
        print(seed, row, flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
