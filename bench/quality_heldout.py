"""The shipped defaults against the no-CNN baselines, on benchmarks generated from seeds the sweep never saw.

Runs the real `vidstyle eval` / `eval-retrieval` code paths (Embedder, decode pool, masking, cache) with the
given config, and the baselines on the same decoded frames, for each seed; prints a Markdown table of the mean
and the spread (min-max) over seeds and writes everything as JSON.

    python bench/quality_heldout.py --seeds 10 11 12 --n 30 --out bench/quality_heldout.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.evaluation.baseline import baseline_retrieval_summary, baseline_triplet_summary
from vidstyle.evaluation.benchmark import KINDS, make_benchmark
from vidstyle.evaluation.triplets import evaluate_retrieval, evaluate_triplets, read_labels, read_triplets

REPO = Path(__file__).resolve().parents[1]


def run_seed(bench: Path, config: Path, k: int) -> dict:
    settings = load_settings(config)
    t0 = time.monotonic()
    shipped = evaluate_triplets(bench / "triplets.csv", settings, bench / ".vidstyle-cache")
    retrieval = evaluate_retrieval(bench / "labels.csv", settings, k, bench / ".vidstyle-cache")
    seconds = time.monotonic() - t0
    return {
        "shipped": shipped.summary(),
        "shipped_retrieval": retrieval.summary(),
        "baseline": baseline_triplet_summary(read_triplets(bench / "triplets.csv"), settings),
        "baseline_retrieval": baseline_retrieval_summary(read_labels(bench / "labels.csv"), settings, k),
        "files": len(shipped.embeddings),
        "seconds": seconds,
    }


def spread(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ({min(values):.2f}-{max(values):.2f})"


def table(results: dict[int, dict]) -> str:
    runs = list(results.values())
    lines = ["| kind | axis | shipped | no-CNN baseline |", "|---|---|---|---|"]
    for kind in (*KINDS, "all"):
        for axis in ("style", "content"):
            key = f"{axis}_accuracy"

            def pick(run: dict, who: str, kind: str = kind, key: str = key) -> float:
                return run[who][key] if kind == "all" else run[who]["by_kind"][kind][key]

            lines.append(f"| {kind} | {axis} | {spread([pick(r, 'shipped') for r in runs])} | "
                         f"{spread([pick(r, 'baseline') for r in runs])} |")
    for rep in runs[0]["shipped"]["by_representation"]:
        vals = [r["shipped"]["by_representation"][rep]["style_accuracy"] for r in runs]
        lines.append(f"| all | style ({rep}) | {spread(vals)} | |")
    k = runs[0]["shipped_retrieval"]["k"]
    for key, name in (("style_map", "style mAP"), ("content_map", "content mAP"),
                      ("style_recall_at_k", f"style recall@{k}"), ("content_recall_at_k", f"content recall@{k}")):
        lines.append(f"| retrieval | {name} | {spread([r['shipped_retrieval'][key] for r in runs])} | "
                     f"{spread([r['baseline_retrieval'][key] for r in runs])} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    ap.add_argument("--n", type=int, default=30, help="triplets per kind")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vidstyle-heldout"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    results = {}
    for seed in args.seeds:
        bench = args.work / f"seed{seed}-n{args.n}"
        if not (bench / "labels.csv").exists():
            make_benchmark(bench, n=args.n, seed=seed)
        results[seed] = run_seed(bench, args.config, args.k)
        r = results[seed]
        print(f"seed {seed}: {r['files']} files in {r['seconds']:.0f} s; {json.dumps(r['shipped'])}", flush=True)
    print()
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps({"seeds": args.seeds, "n": args.n, "config": str(args.config),
                                        "results": results}, indent=1))


if __name__ == "__main__":
    main()
