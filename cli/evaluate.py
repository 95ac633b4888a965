"""`vidstyle eval`, `vidstyle eval-retrieval` and `vidstyle make-benchmark`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import ConfigOpt, settings

CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="embedding cache (default: .vidstyle-cache next to the CSV)"),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="embed everything afresh and keep nothing")]


def _cache(csv_path: Path, cache_dir: Path | None, no_cache: bool) -> Path | None:
    from vidstyle.evaluation.triplets import default_cache_dir

    return None if no_cache else (cache_dir or default_cache_dir(csv_path))


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def eval_command(
    triplets: Annotated[Path, typer.Argument(help="CSV with columns a, b, c (paths relative to it) and optional kind")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object (docs/CONTRACT.md)")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="write an HTML report with plots to DIR")] = None,
    config: ConfigOpt = None,
    cache_dir: CacheOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """A/B/C triplets: is sim_style(A,C) > sim_style(B,C), and sim_content(B,C) > sim_content(A,C)?"""
    from vidstyle.evaluation.triplets import evaluate_triplets

    loaded = settings(config)
    result = evaluate_triplets(triplets, loaded, _cache(triplets, cache_dir, no_cache), progress=not as_json)
    summary = result.summary()
    if report is not None:
        from vidstyle.evaluation.report import write_triplet_report

        page = write_triplet_report(result, report, labels_csv=Path(triplets).parent / "labels.csv")
        typer.echo(f"report: {page}", err=True)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"{summary['n']} triplets ({loaded.model.backbone}, style = {loaded.model.style_representation})")
    typer.echo(f"{'':14s}{'n':>5s}{'style':>8s}{'content':>9s}{'both':>7s}")
    for name, g in [("all", summary), *summary["by_kind"].items()]:
        typer.echo(f"{name:14s}{g['n']:5d}{_fmt(g['style_accuracy']):>8s}{_fmt(g['content_accuracy']):>9s}"
                   f"{_fmt(g['both_accuracy']):>7s}")
    for name, g in summary["by_representation"].items():
        typer.echo(f"style representation {name}: {_fmt(g['style_accuracy'])}")


def eval_retrieval_command(
    labels: Annotated[Path, typer.Argument(help="CSV with columns path (relative to it), content_id, style_id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object (docs/CONTRACT.md)")] = False,
    k: Annotated[int, typer.Option("-k", help="neighbours considered by recall@k")] = 10,
    config: ConfigOpt = None,
    cache_dir: CacheOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Recall@k (a relevant item in the top k) and mAP, style by style_id, content by content_id."""
    from vidstyle.evaluation.triplets import evaluate_retrieval

    loaded = settings(config)
    result = evaluate_retrieval(labels, loaded, k, _cache(labels, cache_dir, no_cache), progress=not as_json)
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"{len(result.items)} items, k = {k}")
    typer.echo(f"style   recall@{k} {_fmt(summary['style_recall_at_k'])}  mAP {_fmt(summary['style_map'])}")
    typer.echo(f"content recall@{k} {_fmt(summary['content_recall_at_k'])}  mAP {_fmt(summary['content_map'])}")
    for name in sorted(n for n in result.embeddings[result.items[0].path].vectors if n.startswith("style_")):
        s = result.scores(name, "style")
        typer.echo(f"  {name}: recall@{k} {_fmt(s['recall_at_k'])}  mAP {_fmt(s['map'])}")


def make_benchmark_command(
    out: Annotated[Path, typer.Argument(help="folder to write the benchmark into")],
    n: Annotated[int, typer.Option("--n", min=1, help="triplets per kind")] = 30,
    seed: Annotated[int, typer.Option("--seed", help="everything is deterministic from it")] = 0,
    kinds: Annotated[str, typer.Option("--kinds", help="comma-separated: image,video,three_panel")] = (
        "image,video,three_panel"
    ),
    split: Annotated[str, typer.Option("--split", help="looks of the train families, the held-out ones, or all")] = (
        "all"
    ),
    looks: Annotated[str | None, typer.Option("--looks", help="comma-separated look names (within --split)")] = None,
    copies: Annotated[bool, typer.Option("--copies", help="also write OUT/copies: edited copies of generated "
                                         "footage and other shots of its subjects, for eval-recommend")] = False,
    config: ConfigOpt = None,
) -> None:
    """Generate a labelled benchmark: PNGs, H.264 videos and three-panel videos, triplets.csv and labels.csv.

    Each item draws its own instance of its look; --split train|heldout keeps to the looks of those families
    (vidstyle.media.looks.SPLITS).
    """
    from vidstyle.evaluation.benchmark import make_benchmark

    if config is not None:
        settings(config)  # validated for uniformity; generation itself needs no model
    chosen = [name.strip() for name in looks.split(",") if name.strip()] if looks else None
    bench = make_benchmark(out, n=n, seed=seed, kinds=[k.strip() for k in kinds.split(",") if k.strip()],
                           looks=chosen, split=split)
    typer.echo(f"{len(bench.items)} files, {len(bench.triplets)} triplets -> {bench.triplets_csv}, {bench.labels_csv}")
    if copies:
        from vidstyle.evaluation.copy_benchmark import make_copy_benchmark

        made = make_copy_benchmark(Path(out) / "copies", seed=seed)
        typer.echo(f"{len(made.items)} originals and copies -> {made.labels_csv}")
