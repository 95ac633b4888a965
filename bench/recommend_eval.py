"""`recommend` measured as a ranking on a small copy benchmark: the copy check beside today's content rule.

Writes `vidstyle make-benchmark --copies` footage for a few subjects (bounded: every video is embedded with the
offline model), then runs `vidstyle eval-recommend`'s evaluation on it: the copy threshold and the blend are chosen
on the `train` split, and the rules are reported on `test` (held-out seed, looks and edit kinds) in the same run.
`--serve-blend S C` sets the configured blend (e.g. `0.7 0.3`, the defaults before this measurement) so the
"today" rule is the one the measurement was made against. `blends` then lists every blend of the grid on both
splits at the configured content and copy thresholds: for reading, not for choosing (choices are train-only).
Embeddings are cached under OUT/cache, so a rerun (e.g. after a descriptor change) only re-describes the frames.
Usage:

    python bench/recommend_eval.py OUT [--subjects cat coffee ...] [--seed 0] [-k 10] [--serve-blend S C]
        [--json RESULT.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from vidstyle.core.settings import Settings, load_settings
from vidstyle.evaluation.copy_benchmark import make_copy_benchmark
from vidstyle.evaluation.recommend_eval import BLEND_GRID, Rule, evaluate_recommend, load, rank_queries, summarise

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
SUBJECTS = ("cat", "coffee", "astronaut", "city", "shapes", "landscape", "flower", "portrait")


def _settings(blend: list[float] | None) -> Settings:
    settings = load_settings(OFFLINE)
    if blend is None:
        return settings
    serve = settings.serve.model_copy(update={"recommend_style_weight": blend[0], "recommend_content_weight": blend[1]})
    return settings.model_copy(update={"serve": serve})


def _blends(labels: Path, settings: Settings, cache: Path, k: int) -> dict[str, dict]:
    serve = settings.serve
    splits = load(labels, settings, cache)
    return {f"{split} {style}/{content}": summarise(rank_queries(
                data, Rule("blend", style, content, serve.near_duplicate_content, serve.copy_threshold), k))
            for split, data in splits.items() for style, content in BLEND_GRID}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--subjects", nargs="+", default=list(SUBJECTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--serve-blend", nargs=2, type=float, metavar=("STYLE", "CONTENT"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    labels, settings = args.out / "labels.csv", _settings(args.serve_blend)
    started = time.perf_counter()
    if not labels.exists():
        make_copy_benchmark(args.out, seed=args.seed, contents=args.subjects)
    made = time.perf_counter()
    result = evaluate_recommend(labels, settings, args.k, args.out / "cache", progress=True)
    done = time.perf_counter()
    result.pop("queries")  # per-query rows: the summaries are what RESULTS.md reports
    result["blends"] = _blends(labels, settings, args.out / "cache", args.k)
    result["run"] = {"subjects": args.subjects, "seed": args.seed, "make_s": round(made - started, 1),
                     "evaluate_s": round(done - made, 1)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
