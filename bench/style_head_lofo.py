"""Does a learned style head generalise to look families it never saw? Leave-one-family-out on the training
families, then the held-out families, every style representation computed from the same per-frame blocks.

1. Leave-one-family-out (training families only, so it may guide a choice): for each training family F and each
   candidate head recipe (`CANDIDATES`: today's data, and the same data plus palette variants), a head is trained on
   the other training families (`HeadTraining.exclude_families`) and scored on the triplets of training-split
   benchmarks whose look family is F, beside the hand-built vectors on the same triplets, at each weight of
   `style_stats` beside the head (`--stats-weights`; 0 = the head alone). The choice is the recipe and weight with
   the best mean over the left-out families (a tie keeps the shipped recipe and weight 1).
2. Held-out families (report only, after the choice): the shipped head and every candidate recipe trained on all
   training families, at every weight, beside the hand-built vectors on held-out benchmarks; the JSON's `choice`
   names the column the training families chose, the only one a decision may rest on. With them, per vector, the
   content leak (`content_leak`: style pair AUC, and the median cosine of other-look pairs that share the subject
   against those that do not). `--heldout-only` runs this part alone (a report after the choice).

Per file, the backbone's style blocks of its decoded frames (`FeatureExtractor.style_blocks`) are computed once
(cached beside the benchmark); every representation is a function of them, mirroring `FeatureExtractor`:
`rgb` (the palette histogram), `stats` (colour-tap statistics + histogram), `texture` (luminance texture at two
scales + chroma + tone), `<head> w=<w>` (the head's output beside `stats` scaled by sqrt(w), as
`model.style_head_stats` does; w=0 is the head alone), and with `--rgb-weights` / `--conc-weights` the same beside
the RGB histogram block, as is or weighed per frame by its `palette_concentration`. Heads over deep taps
(`HeadTraining.deep_taps`) also read those taps' blocks, computed once per benchmark into `--cache`.

    python bench/style_head_lofo.py --train-bench /tmp/vidstyle-generalise/train-1{0,1} \\
        --heldout-bench /tmp/vidstyle-generalise/heldout-1{0,1,2} --cache /tmp/hcache --out bench/style_head_lofo.json
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
from vidstyle.embedder.features import FeatureExtractor, palette_concentration
from vidstyle.embedder.style_head import load_style_head, packaged_head
from vidstyle.embedder.train_style_head import HeadTraining, embed_with_head, extract_blocks, train_style_head
from vidstyle.media.decode import decode_file
from vidstyle.media.looks import SPLITS

sys.path.insert(0, str(Path(__file__).parent))
from quality_generalise import roc_auc  # noqa: E402 - a sibling script's helper, one AUC for every bench

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = {"current": HeadTraining(), "palette": HeadTraining(palette_variants=3),
              "without_light": HeadTraining(exclude_families=("light",)),
              "gated": HeadTraining(palette_gate=True),
              "composed": HeadTraining(composed_looks=8),
              "composed_half": HeadTraining(looks_per_group=4, composed_looks=4),
              "deep10": HeadTraining(deep_taps=("block10",)),
              "deep10_12": HeadTraining(deep_taps=("block10", "block12"))}
"""Head recipes compared: the shipped one's data; the same data plus three re-coloured look instances per group
(labelled as looks of their own, so only palette separates them); and the same data without the `light` family
(the training data before that family was written), to see what a family decided by palette adds; and the head
with a palette gate (`StyleHead(palette_gate=True)`: the RGB histogram beside its output at a weight it predicts
per frame); the same data plus eight composed look instances per group (`HeadTraining.composed_looks`: two
training-family looks of different families applied in sequence, labelled by the pair), doubling the looks per group;
and four library looks plus four composed ones per group (the same number of frames as today's); and the shipped
recipe reading also the colour pass's statistics at deeper taps (`HeadTraining.deep_taps`: block10, or block10 and
block12), where strokes and line kinds are mid-level properties."""


def file_blocks(bench: Path, fx: FeatureExtractor, max_frames: int, min_gap_s: float,
                deep_cache: Path | None = None) -> dict[str, np.ndarray]:
    """Per file of the benchmark, (frames, D) concatenated style blocks (`fx.block_layout()`); the blocks without
    the deep taps cached in bench/style_blocks.npz, the deep taps' in `deep_cache` (one file per benchmark)."""
    out = _cached_file_blocks(bench, bench / "style_blocks.npz", fx, max_frames, min_gap_s, "base")
    if fx.deep_taps:
        name = f"{bench.parent.name}-{bench.name}-deep-{'+'.join(fx.deep_taps)}.npz"
        deep = _cached_file_blocks(bench, (deep_cache or bench) / name, fx, max_frames, min_gap_s, "deep")
        out = {p: np.concatenate([x, deep[p]], 1) for p, x in out.items()}
    return out


def _cached_file_blocks(bench: Path, cache: Path, fx: FeatureExtractor, max_frames: int, min_gap_s: float,
                        blocks: str) -> dict[str, np.ndarray]:
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    with (bench / "triplets.csv").open() as fh:
        paths = sorted({row[c] for row in csv.DictReader(fh) for c in "abc"})
    out = {}
    for p in paths:
        frames = decode_file(bench / p, fx.settings.input_size, max_frames, min_gap_s).frames
        out[p] = extract_blocks(fx, frames, blocks=blocks)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def tone_casts(rgb: np.ndarray, bands: int = 4) -> np.ndarray:
    """(n, 3 · bands): per luminance band, the band's mean colour minus its grey, times the square root of the band's
    share of the pixels, from the Hellinger RGB histogram block (bin centres as colours). A grade's signature: the
    colour it gives each tone. Left unnormalised: an ungraded frame's casts are short, so its length is its gate."""
    side = round(rgb.shape[1] ** (1 / 3))
    levels = (np.arange(side) + 0.5) / side
    centres = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)  # r-major, as binned
    band = np.minimum((centres @ np.array([0.299, 0.587, 0.114]) * bands).astype(int), bands - 1)
    p = np.square(rgb) / np.maximum(np.square(rgb).sum(1, keepdims=True), 1e-12)
    out = []
    for k in range(bands):
        mass = p[:, band == k].sum(1, keepdims=True)
        mean = p[:, band == k] @ centres[band == k] / np.maximum(mass, 1e-12)
        out.append((mean - mean.mean(1, keepdims=True)) * np.sqrt(mass))
    return np.concatenate(out, 1)


def frame_representations(x: np.ndarray, layout: dict[str, int], heads: dict,
                          weights: tuple[float, ...] = (0.0, 1.0), rgb_weights: tuple[float, ...] = (),
                          conc_weights: tuple[float, ...] = (), tone_weights: tuple[float, ...] = ()
                          ) -> dict[str, np.ndarray]:
    """(frames, D) unit frame vectors per representation, from one file's (frames, D) concatenated blocks.

    `rgb_weights`: also the head beside `stats` (each weight) *and* the RGB histogram block scaled by sqrt(h), as
    `<head> w=<w> rgb=<h>`: a fusion of the learned texture evidence with the palette the held-out families are
    told apart by. `conc_weights`: the same fusion with the histogram block also scaled by the frame's
    `palette_concentration`, as `<head> w=<w> conc=<h>` (two frames' palettes count by g_a · g_b). `tone_weights`:
    the head beside `stats` and the frame's `tone_casts` scaled by sqrt(h), as `<head> w=<w> tone=<h>`."""
    edges = np.cumsum([0, *layout.values()])
    spans = {name: slice(a, b) for name, a, b in zip(layout, edges[:-1], edges[1:])}

    def part(prefix: str) -> list[np.ndarray]:
        return [x[:, spans[n]] for n in layout if n.startswith(prefix)]

    def ssqrt_l2(v: np.ndarray) -> np.ndarray:
        return unit(np.sign(v) * np.sqrt(np.abs(v)))

    rgb = x[:, spans["rgb"]]
    per_frame = {
        "rgb": rgb,
        "stats": unit(np.concatenate([*part("colour/"), ssqrt_l2(rgb)], 1)),
        "texture": unit(np.concatenate([*part("luma"), x[:, spans["chroma"]] * 2**0.5, x[:, spans["tone"]] * 2**0.5],
                                       1)),
    }
    # What the fusions add depends on the palette alone: computed once per file, whatever the heads and weights.
    palette = unit(rgb)
    gate = palette_concentration(torch.from_numpy(rgb)).numpy()[:, None] if conc_weights else None
    casts = tone_casts(rgb) if tone_weights else None
    for name, head in heads.items():  # each head reads its own blocks (with or without deep taps)
        cols = np.concatenate([np.arange(spans[n].start, spans[n].stop) for n in head.layout])
        learned = embed_with_head(head, np.ascontiguousarray(x[:, cols], np.float32))
        for w in weights:
            beside = [learned, per_frame["stats"] * w**0.5]
            per_frame[f"{name} w={w:g}"] = unit(np.concatenate(beside, 1))
            for h in rgb_weights:
                per_frame[f"{name} w={w:g} rgb={h:g}"] = unit(np.concatenate([*beside, palette * h**0.5], 1))
            for h in conc_weights:
                per_frame[f"{name} w={w:g} conc={h:g}"] = unit(np.concatenate([*beside, palette * gate * h**0.5], 1))
            for h in tone_weights:
                per_frame[f"{name} w={w:g} tone={h:g}"] = unit(np.concatenate([*beside, casts * h**0.5], 1))
    return per_frame


def representations(blocks: dict[str, np.ndarray], layout: dict[str, int], heads: dict,
                    weights: tuple[float, ...] = (0.0, 1.0), rgb_weights: tuple[float, ...] = (),
                    conc_weights: tuple[float, ...] = (), tone_weights: tuple[float, ...] = ()) -> dict[str, dict]:
    """Video vectors per representation: each file's `frame_representations` averaged, then unit."""
    out: dict[str, dict] = {}
    for path, x in blocks.items():
        for name, v in frame_representations(x, layout, heads, weights, rgb_weights, conc_weights,
                                             tone_weights).items():
            out.setdefault(name, {})[path] = unit(v.mean(0))
    return out


def triplet_hits(bench: Path, vectors: dict[str, np.ndarray], family: str | None = None) -> list[bool]:
    with (bench / "triplets.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if family is None or r["family"] == family]
    return [bool(vectors[r["a"]] @ vectors[r["c"]] > vectors[r["b"]] @ vectors[r["c"]]) for r in rows]


def triplet_accuracy(bench: Path, vectors: dict[str, np.ndarray], family: str | None = None) -> tuple[float, int]:
    right = triplet_hits(bench, vectors, family)
    return float(np.mean(right)) if right else float("nan"), len(right)


def content_leak(bench: Path, vectors: dict[str, np.ndarray]) -> dict:
    """Over every item pair of one kind: the style pair AUC (same look vs other look), and the median style cosine
    of pairs in different looks that share their subject against those that do not; the gap is how much of the
    subject the style vector carries."""
    with (bench / "labels.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"] in vectors]
    x = np.stack([vectors[r["path"]] for r in rows])
    iu = np.triu_indices(len(rows), 1)
    sims = (x @ x.T)[iu]
    label = {k: np.array([r[k] for r in rows]) for k in ("kind", "style_id", "content_id")}
    same = {k: v[iu[0]] == v[iu[1]] for k, v in label.items()}
    kind, look, subject = same["kind"], same["style_id"], same["content_id"]
    return {"auc": roc_auc(sims[kind & look], sims[kind & ~look]),
            "same_subject_other_look": float(np.median(sims[kind & ~look & subject])),
            "other_subject_other_look": float(np.median(sims[kind & ~look & ~subject]))}


def choose(lofo: dict[str, dict], tie_margin: float = 0.0) -> str:
    """The head column with the best mean over left-out families; a margin under `tie_margin` over the shipped form
    (today's recipe at weight 1, no histogram) is a tie and keeps it."""
    means = {n: float(np.mean([row[n][0] for row in lofo.values()])) for n in next(iter(lofo.values()))}
    heads = [n for n in means if " w=" in n]
    best = max(heads, key=lambda n: means[n])
    return "current w=1" if means[best] - means["current w=1"] < max(tie_margin, 1e-12) else best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-bench", type=Path, nargs="+", required=True)
    ap.add_argument("--heldout-bench", type=Path, nargs="*", default=[])
    ap.add_argument("--stats-weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    ap.add_argument("--rgb-weights", type=float, nargs="*", default=[],
                    help="also fuse the RGB histogram block at these weights beside head and stats")
    ap.add_argument("--conc-weights", type=float, nargs="*", default=[],
                    help="also fuse the RGB histogram weighed by its concentration at these weights")
    ap.add_argument("--tone-weights", type=float, nargs="*", default=[],
                    help="also fuse the tone-band colour casts (`tone_casts`) at these weights beside head and stats")
    ap.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hcache"), help="training statistics cache")
    ap.add_argument("--max-frames", type=int, default=4)
    ap.add_argument("--tie-margin", type=float, default=0.02,
                    help="a left-out mean this close to the shipped form's is a tie that keeps it")
    ap.add_argument("--heldout-only", action="store_true",
                    help="skip leave-one-family-out (a report run after the choice, with the same heads)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    settings = load_settings(args.config, {"model": {"style_head": None, "style_representation": "texture"}})
    m = settings.model
    deep_taps = tuple(dict.fromkeys(t for name in args.candidates for t in CANDIDATES[name].deep_taps))
    fx = FeatureExtractor(load_backbone(m.backbone, m.weights_path), m, deep_taps=deep_taps)
    layout = fx.block_layout()
    result: dict = {"lofo": {}, "heldout": {}}

    weights, rgb_weights, conc_weights, tone_weights = (tuple(args.stats_weights), tuple(args.rgb_weights),
                                                        tuple(args.conc_weights), tuple(args.tone_weights))
    candidates = {name: CANDIDATES[name] for name in args.candidates}
    train_blocks = {b: file_blocks(b, fx, args.max_frames, settings.decode.min_gap_s, args.cache)
                    for b in args.train_bench}
    for family in () if args.heldout_only else SPLITS["train"]:
        heads = {}
        for name, recipe in candidates.items():
            out = Path(f"/tmp/lofo-{name}-{family}.pt")
            cfg = dataclasses.replace(recipe, exclude_families=(*recipe.exclude_families, family))
            train_style_head(settings, out, cfg, cache_dir=args.cache, progress=False)
            heads[name] = load_style_head(out)
        hits: dict[str, list[bool]] = {}
        for bench, blocks in train_blocks.items():
            reps = representations(blocks, layout, heads, weights, rgb_weights, conc_weights, tone_weights)
            for rep, v in reps.items():
                hits.setdefault(rep, []).extend(triplet_hits(bench, v, family))
        result["lofo"][family] = {rep: (float(np.mean(h)), len(h)) for rep, h in hits.items()}
        print(family, {k: round(v[0], 3) for k, v in result["lofo"][family].items()}, flush=True)
    if result["lofo"]:
        result["choice"] = choose(result["lofo"], args.tie_margin)
        print("chosen on training families:", result["choice"], flush=True)

    scored = {"shipped": load_style_head(packaged_head(m.backbone))}
    for name, recipe in candidates.items():
        final = Path(f"/tmp/lofo-{name}-all.pt")
        train_style_head(settings, final, recipe, cache_dir=args.cache, progress=False)
        scored[name] = load_style_head(final)
    for bench in args.heldout_bench:
        blocks = file_blocks(bench, fx, args.max_frames, settings.decode.min_gap_s, args.cache)
        reps = representations(blocks, layout, scored, weights, rgb_weights, conc_weights, tone_weights)
        families = sorted({r["family"] for r in csv.DictReader((bench / "triplets.csv").open())})
        result["heldout"][bench.name] = {
            fam: {name: triplet_accuracy(bench, v, None if fam == "all" else fam) for name, v in reps.items()}
            for fam in ["all", *families]
        }
        result.setdefault("leak", {})[bench.name] = {name: content_leak(bench, v) for name, v in reps.items()}
        print(bench.name, {k: round(v[0], 3) for k, v in result["heldout"][bench.name]["all"].items()}, flush=True)

    leaks = list(result.get("leak", {}).values())
    if leaks:
        print("| vector | style pair AUC | same subject, other look (median cos) | other subject, other look |")
        for name in leaks[0]:
            means = [np.mean([b[name][k] for b in leaks]) for k in next(iter(leaks[0].values()))]
            print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in means) + " |")
    names = list(next(iter(result["lofo"].values()))) if result["lofo"] else []
    lines = ["| left-out training family | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)] * (
        bool(names))
    for fam, row in result["lofo"].items():
        lines.append(f"| {fam} | {row[names[0]][1]} | " + " | ".join(f"{row[n][0]:.3f}" for n in names) + " |")
    if names:
        lines.append("| **mean** | | " + " | ".join(f"**{np.mean([r[n][0] for r in result['lofo'].values()]):.3f}**"
                                              for n in names) + " |")
    fams = sorted({f for b in result["heldout"].values() for f in b})
    names = list(next(iter(next(iter(result["heldout"].values())).values()))) if fams else []
    lines += ["", "| held-out family | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
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
