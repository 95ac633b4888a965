"""The style-transfer methods' style representations, scored for recommendation on look families none of them saw.

    OMP_NUM_THREADS=1 nice -n 10 python bench/style_repr_bench.py train --work /tmp/vsrepr --minutes 5
    OMP_NUM_THREADS=1 nice -n 10 python bench/style_repr_bench.py score --work /tmp/vsrepr --seeds 10
    OMP_NUM_THREADS=1 nice -n 10 python bench/style_repr_bench.py score --work /tmp/vsrepr --seeds 11

1. `train`: Ghiasi (`style_cin`), N-style CIN and StyleBank, each for `--minutes` of one torch thread, on the
   TRAINING look families only (`media.looks.SPLITS['train']`): the styles are `--per-family` looks of each
   training family rendered on one subject (one style file per look: the N-style methods learn exactly these),
   the contents 8 subjects in their natural look. 64 px, batch 4, seed 0, default weights.
2. `score`: held-out benchmarks (`make-benchmark --split heldout`, one per seed; film, drawing and edge looks,
   none of them a training style), scored by `evaluate_triplets` / `evaluate_retrieval` with
   `model.cin_checkpoint` (adds `style_cin`) and `stylize.checkpoints` (adds the known-style representations
   `cin_fit`, `cin_gammabeta`, `stylebank_fit`, `stylebank_bank`) beside the shipped vectors, and the RGB-histogram
   baseline on the same decoded frames in the same run. Triplet style accuracy per kind and family, style
   recall@10 and mAP.
Writes `--out` (default bench/style_repr_results.json).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vidstyle.core.settings import Settings, load_settings
from vidstyle.evaluation.baseline import baseline_file_vectors
from vidstyle.evaluation.benchmark import make_benchmark
from vidstyle.evaluation.metrics import TripletSims, retrieval_scores
from vidstyle.evaluation.triplets import evaluate_retrieval, evaluate_triplets, read_labels
from vidstyle.media.looks import FAMILIES, SPLITS
from vidstyle.media.samples import render_scene
from vidstyle.styletransfer.checkpoint import read_checkpoint
from vidstyle.styletransfer.model import CinConfig
from vidstyle.styletransfer.train import train

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "offline.yaml"
TRAIN_SUBJECTS = ["cat", "coffee", "astronaut", "rocket", "city", "shapes", "landscape", "room"]
STYLE_SUBJECT = "china"
METHODS = ("ghiasi", "cin", "stylebank")
EARLIER_BENCHMARKS = Path("/tmp/vidstyle-generalise")  # quality_generalise.py's held-out benchmarks, when present


def training_looks(per_family: int) -> list[str]:
    """The first `per_family` looks of every training family (the library's order; nothing chosen by score)."""
    return [look for family in SPLITS["train"] for look in FAMILIES[family][:per_family]]


def _frames(images: list[np.ndarray], size: int) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(img).convert("RGB").resize((size, size), Image.LANCZOS))
                     for img in images])


def train_all(args: argparse.Namespace) -> dict:
    settings = load_settings(CONFIG)
    looks = training_looks(args.per_family)
    contents = _frames([render_scene(s, "natural") for s in TRAIN_SUBJECTS], args.size)
    styles = _frames([render_scene(STYLE_SUBJECT, look) for look in looks], args.size)
    report = {"looks": looks, "minutes_per_method": args.minutes, "size": args.size, "methods": {}}
    for method in METHODS:
        ckpt = args.work / f"{method}.pt"
        if not ckpt.is_file():
            cfg = CinConfig(method=method, image_size=args.size, style_size=args.size, batch=4, steps=1_000_000,
                            save_every=1_000_000, extra={"style_looks": looks})
            train(contents, styles, ckpt, cfg, settings, device="cpu", time_limit_s=args.minutes * 60,
                  threads=args.threads)
        payload = read_checkpoint(ckpt)
        hist = payload["history"]
        styl = [h["style"] for h in hist if h["style"] > 0]
        report["methods"][method] = {"steps": payload["step"], "seconds": payload["seconds"],
                                     "first_style": styl[0], "last10_style": float(np.mean(styl[-10:])),
                                     "first_total": hist[0]["total"],
                                     "last10_total": float(np.mean([h["total"] for h in hist[-10:]]))}
        print(method, json.dumps(report["methods"][method]), flush=True)
    return report


def _controls(args: argparse.Namespace) -> dict[str, Path]:
    """cin and stylebank after one step (their seeded start): the bar their training has to clear."""
    settings = load_settings(CONFIG)
    looks = training_looks(args.per_family)
    contents = _frames([render_scene(s, "natural") for s in TRAIN_SUBJECTS], args.size)
    styles = _frames([render_scene(STYLE_SUBJECT, look) for look in looks], args.size)
    out = {}
    for method in ("cin", "stylebank"):
        out[method] = args.work / f"{method}_1step.pt"
        if not out[method].is_file():
            cfg = CinConfig(method=method, image_size=args.size, style_size=args.size, batch=4, steps=1)
            train(contents, styles, out[method], cfg, settings, device="cpu", progress=False, threads=args.threads)
    return out


def _benchmark(args: argparse.Namespace, seed: int) -> Path:
    bench = args.work / f"heldout-{seed}"
    earlier = EARLIER_BENCHMARKS / f"heldout-{seed}"
    if not (bench / "triplets.csv").is_file():
        if (earlier / "triplets.csv").is_file():
            shutil.copytree(earlier, bench, dirs_exist_ok=True)  # with its embedding cache: same files, same vectors
        else:
            make_benchmark(bench, n=args.n, seed=seed, split="heldout")
    return bench


def _accuracy(sims: TripletSims, mask: np.ndarray) -> float:
    return float((sims.ac[mask] > sims.bc[mask]).mean()) if mask.any() else float("nan")


def score_seed(bench: Path, settings: Settings, controls: Settings) -> dict:
    """Triplet style accuracy (all, per kind, per family) and style retrieval of every style vector and the
    histogram baseline, on one held-out benchmark."""
    with (bench / "triplets.csv").open() as fh:
        families = [row.get("family", "") for row in csv.DictReader(fh)]
    t0 = time.monotonic()
    ev = evaluate_triplets(bench / "triplets.csv", settings, bench / ".vidstyle-cache", progress=True)
    seconds = {"trained": time.monotonic() - t0}
    t0 = time.monotonic()
    ev0 = evaluate_triplets(bench / "triplets.csv", controls, bench / ".vidstyle-cache", progress=True)
    seconds["controls"] = time.monotonic() - t0
    assert len(ev.triplets) == len(families) == len(ev0.triplets), "every triplet must be scored"
    sims = {n.removeprefix("style_"): s for n, s in ev.sims.items() if n.startswith("style_")}
    sims |= {f"{n.removeprefix('style_')}[1 step]": s for n, s in ev0.sims.items()
             if n.startswith(("style_cin_", "style_stylebank_"))}
    base = baseline_file_vectors([p for t in ev.triplets for p in t.paths], settings)
    sims["histogram (baseline)"] = TripletSims.from_vectors(
        *(np.stack([base[getattr(t, c)]["style"] for t in ev.triplets]) for c in "abc"))
    groups = {"all": np.ones(len(families), bool)}
    groups |= {f"kind:{k}": np.array([t.kind == k for t in ev.triplets]) for k in ev.kinds()}
    groups |= {f"family:{f}": np.array([x == f for x in families]) for f in sorted(set(families))}
    triplets = {g: {"n": int(m.sum()), **{name: _accuracy(s, m) for name, s in sims.items()}}
                for g, m in groups.items()}

    items = read_labels(bench / "labels.csv")
    rv = evaluate_retrieval(bench / "labels.csv", settings, 10, bench / ".vidstyle-cache")
    rv0 = evaluate_retrieval(bench / "labels.csv", controls, 10, bench / ".vidstyle-cache")
    names = [n for n in rv.embeddings[rv.items[0].path].vectors if n.startswith("style_")]
    retrieval = {n.removeprefix("style_"): rv.scores(n, "style") for n in names}
    retrieval |= {f"{n.removeprefix('style_')}[1 step]": rv0.scores(n, "style") for n in names
                  if n.startswith(("style_cin_", "style_stylebank_"))}
    hist = baseline_file_vectors([i.path for i in rv.items], settings)
    retrieval["histogram (baseline)"] = retrieval_scores(np.stack([hist[i.path]["style"] for i in rv.items]),
                                                         [i.style_id for i in rv.items], 10)
    return {"triplets": triplets, "retrieval": retrieval, "items": len(items), "seconds": seconds,
            "summary": ev.summary()}


def score_all(args: argparse.Namespace) -> dict:
    ckpt = {m: args.work / f"{m}.pt" for m in METHODS}
    missing = [str(p) for p in ckpt.values() if not p.is_file()]
    if missing:
        raise SystemExit(f"run the train stage first: {', '.join(missing)} missing")
    common = {"decode": {"max_frames": args.max_frames}, "model": {"cin_checkpoint": str(ckpt["ghiasi"])}}
    settings = load_settings(CONFIG, common | {"stylize": {"checkpoints": {m: str(ckpt[m])
                                                                          for m in ("cin", "stylebank")}}})
    controls = load_settings(CONFIG, common | {"stylize": {"checkpoints": {m: str(p)
                                                                          for m, p in _controls(args).items()}}})
    # Seeds already in --out are kept (one invocation per seed keeps each run short); a seed run again replaces.
    report: dict = json.loads(args.out.read_text()) if args.out.is_file() else {"seeds": {}}
    report |= {"max_frames": args.max_frames, "trained": json.loads(
        (args.work / "train.json").read_text()) if (args.work / "train.json").is_file() else None}
    for seed in args.seeds:
        report["seeds"][str(seed)] = score_seed(_benchmark(args, seed), settings, controls)
        print(f"seed {seed}: done", flush=True)
    return report


def mean_tables(report: dict) -> str:
    seeds = list(report["seeds"].values())
    names = [n for n in seeds[0]["triplets"]["all"] if n != "n"]
    lines = ["| group | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for g in seeds[0]["triplets"]:
        n = sum(s["triplets"][g]["n"] for s in seeds)
        cells = []
        for name in names:  # pooled over seeds: triplets weighted equally
            right = sum(s["triplets"][g][name] * s["triplets"][g]["n"] for s in seeds if s["triplets"][g]["n"])
            cells.append(f"{right / n:.3f}")
        lines.append(f"| {g} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "| style vector | recall@10 | mAP |", "|---|---|---|"]
    for name in seeds[0]["retrieval"]:
        r = [s["retrieval"][name] for s in seeds]
        recall, ap = np.mean([x["recall_at_k"] for x in r]), np.mean([x["map"] for x in r])
        lines.append(f"| {name} | {recall:.3f} | {ap:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=["train", "score"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/vsrepr"))
    ap.add_argument("--minutes", type=float, default=5.0, help="training budget per method")
    ap.add_argument("--per-family", type=int, default=3, help="training looks per training family")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[10, 11])
    ap.add_argument("--n", type=int, default=16, help="triplets per kind")
    ap.add_argument("--max-frames", type=int, default=4, help="decode.max_frames (the earlier held-out runs' 4)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "style_repr_results.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if args.stage == "train":
        report = train_all(args)
        report["machine"] = f"{platform.processor() or platform.machine()}, 2-core shared VM, other jobs running"
        report["wall_s"] = time.monotonic() - t0
        (args.work / "train.json").write_text(json.dumps(report, indent=1))
    else:
        report = score_all(args)
        report["machine"] = f"{platform.processor() or platform.machine()}, 2-core shared VM, other jobs running"
        report.setdefault("wall_s", {})[",".join(map(str, args.seeds))] = time.monotonic() - t0
        args.out.write_text(json.dumps(report, indent=1, default=float))
        print(mean_tables(report))


if __name__ == "__main__":
    main()
