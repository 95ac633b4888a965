"""`vidstyle eval-recommend LABELS [--json] [-k K] [--report DIR]`: recommend as a ranking, copies as detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import ConfigOpt, settings
from vidstyle.cli.evaluate import CacheOpt, NoCacheOpt, _cache


def eval_recommend_command(
    labels: Annotated[Path, typer.Argument(metavar="LABELS", help="CSV with columns path (relative to it), "
                                           "content_id, style_id, footage_id, optional split (make-benchmark "
                                           "--copies)")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object (docs/CONTRACT.md)")] = False,
    k: Annotated[int, typer.Option("-k", min=1, metavar="K", help="results per query")] = 10,
    report: Annotated[Path | None, typer.Option("--report", metavar="DIR", help="write an HTML report to DIR")] = None,
    config: ConfigOpt = None,
    cache_dir: CacheOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Per query: copy rate@k (must be 0), style precision@k, subject repetition@k; copy-detection micro-AP over
    all pairs. Thresholds and blend chosen on the train split, reported on test beside today's content rule."""
    from vidstyle.evaluation.recommend_eval import evaluate_recommend

    loaded = settings(config)
    result = evaluate_recommend(labels, loaded, k, _cache(labels, cache_dir, no_cache), progress=not as_json,
                                with_scores=report is not None)
    if report is not None:
        from vidstyle.evaluation.recommend_report import write_recommend_report

        typer.echo(f"report: {write_recommend_report(result, report)}", err=True)
        del result["score_samples"]
    if as_json:
        typer.echo(json.dumps(result))
        return
    rules = list(result["rules"])
    typer.echo(f"k = {k}; rules: " + "; ".join(
        f"{n} (style {r['style_weight']}, content {r['content_weight']}, near-dup {r['near_duplicate_content']}, "
        f"copy {r['copy_threshold']})" for n, r in result["rules"].items()) + f"; chosen on {result['chosen_on']}")
    typer.echo(f"{'split':8s}{'rule':20s}{'copy@k':>8s}{'style@k':>9s}{'subject@k':>11s}{'related dropped':>17s}")
    for split, data in result["splits"].items():
        for name in rules:
            s = data["rules"][name]
            typer.echo(f"{split:8s}{name:20s}{s['mean_copy_rate_at_k']:8.3f}{s['mean_style_precision_at_k']:9.3f}"
                       f"{s['mean_subject_repetition_at_k']:11.3f}{s['related_dropped']:17d}")
        d = data["detection"]
        typer.echo(f"{split:8s}copy-detection micro-AP: copy score {d['copy_micro_ap']:.3f}, "
                   f"content cosine {d['content_micro_ap']:.3f} ({d['copy_pairs']} copy pairs of {d['pairs']})")
