"""Style and content on look families the features and the head never saw, beside the no-CNN baselines.

For each seed and split (`train`: the families every choice and the head were made on; `heldout`: families
nothing here was tuned on), `make-benchmark --split` writes a benchmark, every file is embedded once per config
variant through the production code (`evaluate_triplets`: Embedder, decode pool, masking, cache), and the
baselines (RGB histogram / 8x8 thumbnail) run on the same decoded frames. Reported per split, kind and look
family: triplet style accuracy of every style representation, content accuracy of every variant, and, on all
item pairs of the benchmark, the ROC AUC of same-look vs other-look cosines (and same vs other subject), with the
cosine ranges, so the scores' calibration is visible.

`--heads NAME=PATH[@W]` also embeds every benchmark with other style heads (W: their `model.style_head_stats`)
and reports their `style_learned` as `style_learned[NAME]`, beside the configured head in the same run.

    python bench/quality_generalise.py --seeds 10 11 12 --n 24 --out bench/quality_generalise.json
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from vidstyle.core.settings import Settings, load_settings
from vidstyle.evaluation.baseline import baseline_file_vectors
from vidstyle.evaluation.benchmark import make_benchmark
from vidstyle.evaluation.metrics import TripletSims, normalise_rows
from vidstyle.evaluation.triplets import evaluate_triplets, read_triplets

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "shipped": {},
    "plain": {"content_contrast": False, "content_edges": False},
    "contrast": {"content_contrast": True, "content_edges": False},
}
"""Content variants, as overrides of the config's model settings: `plain` is the content pass before the contrast
stretch and edge map (the earlier default)."""


def roc_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive pair scores above a negative one), ties counted half (Mann-Whitney U / (|P||N|))."""
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tie = scores == value
        ranks[tie] = ranks[tie].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def pair_calibration(vectors: dict[Path, dict[str, np.ndarray]], labels: dict[Path, dict], name: str,
                     axis: str) -> dict:
    """Cosines of every item pair (same kind) split by whether they share `axis`'s label: AUC and ranges."""
    paths = [p for p in labels if p in vectors and name in vectors[p]]
    x = normalise_rows(np.stack([vectors[p][name] for p in paths]))
    sims = x @ x.T
    key = "style_id" if axis == "style" else "content_id"
    lab = np.array([labels[p][key] for p in paths])
    kind = np.array([labels[p]["kind"] for p in paths])
    iu = np.triu_indices(len(paths), 1)
    same_kind = kind[iu[0]] == kind[iu[1]]
    same = (lab[iu[0]] == lab[iu[1]])[same_kind]
    s = sims[iu][same_kind]
    pos, neg = s[same], s[~same]
    return {"auc": roc_auc(pos, neg), "same": [float(np.percentile(pos, q)) for q in (5, 50, 95)],
            "other": [float(np.percentile(neg, q)) for q in (5, 50, 95)]}


def read_families(bench: Path) -> tuple[list[str], dict[Path, dict]]:
    """Per triplet row, C's look family; per item path, its labels."""
    with (bench / "triplets.csv").open() as fh:
        families = [row.get("family", "") for row in csv.DictReader(fh)]
    with (bench / "labels.csv").open() as fh:
        labels = {bench / row["path"]: row for row in csv.DictReader(fh)}
    return families, labels


def score(sims: TripletSims, mask: np.ndarray, axis: str) -> float:
    right = sims.ac[mask] > sims.bc[mask] if axis == "style" else sims.bc[mask] > sims.ac[mask]
    return float(right.mean()) if mask.any() else float("nan")


def parse_head(spec: str) -> tuple[str, dict]:
    """`NAME=PATH[@W]` -> (NAME, model overrides)."""
    name, _, rest = spec.partition("=")
    path, _, weight = rest.partition("@")
    if not name or not path:
        raise SystemExit(f"--heads takes NAME=PATH[@W], not {spec!r}")
    return name, {"style_head": path} | ({"style_head_stats": float(weight)} if weight else {})


def run(bench: Path, base: Settings, variants: dict[str, dict], heads: dict[str, dict] | None = None) -> dict:
    families, labels = read_families(bench)
    triplets = read_triplets(bench / "triplets.csv")
    baseline = baseline_file_vectors([p for t in triplets for p in t.paths], base)
    out: dict = {"groups": {}, "calibration": {}}
    groups: dict[str, np.ndarray] = {"all": np.ones(len(triplets), bool)}
    for kind in sorted({t.kind for t in triplets}):
        groups[f"kind:{kind}"] = np.array([t.kind == kind for t in triplets])
    for fam in sorted(set(families)):
        groups[f"family:{fam}"] = np.array([f == fam for f in families])
    base_sims = {axis: TripletSims.from_vectors(*(np.stack([baseline[getattr(t, c)][axis] for t in triplets])
                                                  for c in "abc")) for axis in ("style", "content")}
    for g, mask in groups.items():
        out["groups"][g] = {"n": int(mask.sum()), "baseline_style": score(base_sims["style"], mask, "style"),
                            "baseline_content": score(base_sims["content"], mask, "content")}
    base_vecs = {p: {"baseline_style": v["style"], "baseline_content": v["content"]} for p, v in baseline.items()}
    out["calibration"]["baseline_style"] = pair_calibration(base_vecs, labels, "baseline_style", "style")
    out["calibration"]["baseline_content"] = pair_calibration(base_vecs, labels, "baseline_content", "content")
    for variant, overrides in variants.items():
        settings = base.model_copy(update={"model": base.model.model_copy(update=overrides)})
        t0 = time.monotonic()
        ev = evaluate_triplets(bench / "triplets.csv", settings, bench / ".vidstyle-cache")
        if len(ev.triplets) != len(triplets):
            raise SystemExit(f"{bench}: {len(triplets) - len(ev.triplets)} triplets could not be embedded")
        out.setdefault("seconds", {})[variant] = round(time.monotonic() - t0, 1)
        vectors = {p: e.vectors for p, e in ev.embeddings.items()}
        for g, mask in groups.items():
            row = out["groups"][g]
            row[f"content[{variant}]"] = score(ev.sims["content"], mask, "content")
            if variant == "shipped":
                for name in ev.sims:
                    if name.startswith("style_"):
                        row[name] = score(ev.sims[name], mask, "style")
        out["calibration"][f"content[{variant}]"] = pair_calibration(vectors, labels, "content", "content")
        if variant == "shipped":
            for name in ev.sims:
                if name.startswith("style_"):
                    out["calibration"][name] = pair_calibration(vectors, labels, name, "style")
    for head, overrides in (heads or {}).items():
        settings = base.model_copy(update={"model": base.model.model_copy(update=overrides)})
        ev = evaluate_triplets(bench / "triplets.csv", settings, bench / ".vidstyle-cache")
        if len(ev.triplets) != len(triplets):
            raise SystemExit(f"{bench}: {len(triplets) - len(ev.triplets)} triplets could not be embedded")
        vectors = {p: e.vectors for p, e in ev.embeddings.items()}
        for g, mask in groups.items():
            out["groups"][g][f"style_learned[{head}]"] = score(ev.sims["style_learned"], mask, "style")
        out["calibration"][f"style_learned[{head}]"] = pair_calibration(vectors, labels, "style_learned", "style")
    return out


def mean_table(results: dict[str, dict[int, dict]]) -> str:
    """Markdown: per split and group, the mean over seeds (min-max) of every column."""
    lines = []
    for split, runs in results.items():
        seeds = list(runs)
        cols = [c for c in runs[seeds[0]]["groups"]["all"] if c != "n"]
        lines += [f"\n### {split} families (seeds {', '.join(map(str, seeds))})\n",
                  "| group | n | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
        for g in runs[seeds[0]]["groups"]:
            vals = defaultdict(list)
            for r in runs.values():
                for c in cols:
                    v = r["groups"].get(g, {}).get(c)
                    if v is not None and not np.isnan(v):
                        vals[c].append(v)
            n = sum(r["groups"].get(g, {}).get("n", 0) for r in runs.values())
            cells = [f"{np.mean(vals[c]):.3f}" if vals[c] else "" for c in cols]
            lines.append(f"| {g} | {n} | " + " | ".join(cells) + " |")
        lines += ["", "| vector | pair AUC | same-label cosine p5/p50/p95 | other-label cosine p5/p50/p95 |",
                  "|---|---|---|---|"]
        for name in runs[seeds[0]]["calibration"]:
            cal = [r["calibration"][name] for r in runs.values()]
            same = np.mean([c["same"] for c in cal], 0)
            other = np.mean([c["other"] for c in cal], 0)
            lines.append(f"| {name} | {np.mean([c['auc'] for c in cal]):.3f} | "
                         f"{'/'.join(f'{v:.2f}' for v in same)} | {'/'.join(f'{v:.2f}' for v in other)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    ap.add_argument("--splits", nargs="+", default=["train", "heldout"])
    ap.add_argument("--n", type=int, default=24, help="triplets per kind")
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--style-head", default="auto", help="model.style_head: a checkpoint, 'auto' or 'none'")
    ap.add_argument("--heads", nargs="*", default=[], help="other style heads to compare: NAME=PATH[@W]")
    ap.add_argument("--max-frames", type=int, default=None, help="decode.max_frames override (fewer = faster)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vidstyle-generalise"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    overrides: dict = {"model": {"style_head": None if args.style_head == "none" else args.style_head}}
    if args.max_frames:
        overrides["decode"] = {"max_frames": args.max_frames}
    settings = load_settings(args.config, overrides)
    results: dict[str, dict[int, dict]] = {}
    for split in args.splits:
        for seed in args.seeds:
            bench = args.work / f"{split}-{seed}"
            if not (bench / "triplets.csv").is_file():
                make_benchmark(bench, n=args.n, seed=seed, split=split)
            results.setdefault(split, {})[seed] = run(bench, settings, {v: VARIANTS[v] for v in args.variants},
                                                      dict(map(parse_head, args.heads)))
            print(f"{split} seed {seed}: done", flush=True)
    print(mean_table(results))
    if args.out:
        args.out.write_text(json.dumps({"config": str(args.config), "n": args.n, "overrides": overrides,
                                        "heads": args.heads, "results": results}, indent=1))


if __name__ == "__main__":
    main()
