"""`recommend` measured as a ranking on a small copy benchmark: the copy check beside today's content rule.

Writes `vidstyle make-benchmark --copies` footage for a few subjects (bounded: every video is embedded with the
offline model), then runs `vidstyle eval-recommend`'s evaluation on it: the copy threshold and the blend are chosen
on the `train` split, and the rules are reported on `test` (held-out seed, looks and edit kinds) in the same run.
`--serve-blend S C` and `--serve-near-duplicate T` set the configured blend and content threshold (e.g. `0.7 0.3`
and `0.9`, the plain content rule of before the copy check) so the "today" rule is the one the measurement is made
against. `blends` holds, at the shipped copy threshold (configs/offline.yaml), the blend and content threshold
chosen on train among `BLEND_GRID` x `NEAR_DUPLICATE_GRID` (how the shipped defaults were chosen), every rule of
that grid on both splits, for reading beside the choice (choices are train-only), and the content score's
distribution over copies, other shots of the subject and unrelated pairs (the scale the blend acts on).
`raw_beside` holds, on the same splits and embeddings, the configured rule with the background-normalised copy score
(`serve.copy_background_weight`, `serve.copy_threshold`) beside the same blend with the raw score at its own threshold
(both thresholds the best F1 on the 15-subject train split, `bench/copy_normalisation.json`), the defaults shipped
with the raw score (`BEFORE`), and `eval-recommend`'s own choice made with each score.
Embeddings are cached under OUT/cache, so a rerun (e.g. after a descriptor change) only re-describes the frames.
Usage:

    python bench/recommend_eval.py OUT [--subjects cat coffee ...] [--seed 0] [-k 10] [--serve-blend S C]
        [--serve-near-duplicate T] [--json RESULT.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import Settings, load_settings
from vidstyle.evaluation.copy_benchmark import make_copy_benchmark
from vidstyle.evaluation.recommend_eval import (
    BLEND_GRID,
    NEAR_DUPLICATE_GRID,
    Rule,
    choose,
    detection,
    evaluate_recommend,
    load,
    pair_scores,
    rank_queries,
    summarise,
)
from vidstyle.indexing.recommend import Blend

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
NORMALISATION = Path(__file__).resolve().parent / "copy_normalisation.json"  # the raw score's train-chosen threshold
BEFORE = (1.0, -0.5, 1.0)  # the blend and content threshold shipped with the raw copy score, chosen on train at 0.738
SUBJECTS = ("cat", "coffee", "astronaut", "city", "shapes", "landscape", "flower", "portrait")


def _settings(blend: list[float] | None, near_duplicate: float | None) -> Settings:
    settings = load_settings(OFFLINE)
    update: dict[str, float] = {}
    if blend is not None:
        update |= {"recommend_style_weight": blend[0], "recommend_content_weight": blend[1]}
    if near_duplicate is not None:
        update["near_duplicate_content"] = near_duplicate
    return settings.model_copy(update={"serve": settings.serve.model_copy(update=update)})


def _blends(labels: Path, settings: Settings, cache: Path, k: int) -> dict:
    """At the shipped copy threshold: the blend and content threshold chosen on train (how the shipped defaults
    were chosen), and every (blend, content threshold) of the grid on each split, for reading beside it."""
    serve = settings.serve
    splits = load(labels, settings, cache)
    chosen, _ = choose(splits["train"], k, NEAR_DUPLICATE_GRID, serve.recommend_candidates, serve.copy_threshold,
                       serve.copy_background_weight)
    grid = {f"{split} {style}/{content} near-dup {near}": summarise(rank_queries(
                data, Rule("blend", Blend(style, content, near, copy_threshold=serve.copy_threshold,
                                        copy_background_weight=serve.copy_background_weight)), k))
            for split, data in splits.items() for near in NEAR_DUPLICATE_GRID for style, content in BLEND_GRID}
    return {"chosen_on_train": chosen.as_dict(), "grid": grid, "content_scores": _content_scores(splits)}


def _content_scores(splits: dict) -> dict:
    """Per split, the content cosine's median, 5th and 95th percentiles over pairs that are copies, other shots of
    the same subject, and unrelated: where a content threshold or weight acts on the current content scale."""
    out = {}
    for split, data in splits.items():
        same, _, content, subject = pair_scores(data)
        groups = {"copies": same, "other footage, same subject": subject & ~same, "unrelated": ~subject & ~same}
        out[split] = {name: {"pairs": int(sel.sum()),
                             **{q: round(float(np.percentile(content[sel], p)), 3)
                                for q, p in (("p5", 5), ("median", 50), ("p95", 95))}}
                      for name, sel in groups.items()}
    return out


def _raw_beside(labels: Path, settings: Settings, cache: Path, k: int) -> dict:
    """The configured rule with the normalised copy score beside the same blend with the raw score (module
    docstring), and eval-recommend's choice with each, on the same splits: ranking and detection per split."""
    serve = settings.serve
    raw_threshold = json.loads(NORMALISATION.read_text())["shipped"]["thresholds_chosen_on_train"]["raw"]
    splits = load(labels, settings, cache)
    blend = (serve.recommend_style_weight, serve.recommend_content_weight, serve.near_duplicate_content)
    rules = [Rule("normalised", Blend(*blend, serve.recommend_candidates, serve.copy_threshold,
                                      serve.copy_background_weight)),
             Rule("raw", Blend(*blend, serve.recommend_candidates, raw_threshold, 0.0)),
             Rule("before", Blend(*BEFORE, serve.recommend_candidates, raw_threshold, 0.0))]
    for weight in (serve.copy_background_weight, 0.0):
        chosen, _ = choose(splits["train"], k, NEAR_DUPLICATE_GRID, serve.recommend_candidates,
                           copy_background_weight=weight)
        rules.append(dataclasses.replace(chosen, name=f"chosen_on_train {'normalised' if weight else 'raw'}"))
    return {"rules": {r.name: r.as_dict() for r in rules},
            "splits": {split: {r.name: {**summarise(rank_queries(data, r, k)),
                                        "detection": detection(data, r.blend.copy_threshold, r.blend.near_duplicate,
                                                               r.blend.copy_background_weight)}
                               for r in rules}
                       for split, data in splits.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--subjects", nargs="+", default=list(SUBJECTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--serve-blend", nargs=2, type=float, metavar=("STYLE", "CONTENT"))
    parser.add_argument("--serve-near-duplicate", type=float)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    labels, settings = args.out / "labels.csv", _settings(args.serve_blend, args.serve_near_duplicate)
    started = time.perf_counter()
    if not labels.exists():
        make_copy_benchmark(args.out, seed=args.seed, contents=args.subjects)
    made = time.perf_counter()
    result = evaluate_recommend(labels, settings, args.k, args.out / "cache", progress=True)
    done = time.perf_counter()
    result.pop("queries")  # per-query rows: the summaries are what RESULTS.md reports
    result["blends"] = _blends(labels, load_settings(OFFLINE), args.out / "cache", args.k)
    result["raw_beside"] = _raw_beside(labels, load_settings(OFFLINE), args.out / "cache", args.k)
    result["run"] = {"subjects": args.subjects, "seed": args.seed, "make_s": round(made - started, 1),
                     "evaluate_s": round(done - made, 1)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
