"""Style query expansion (α-QE) in `recommend` and on the A/B/C triplets: does the catalogue say what a look is?

The query's style vector is replaced by q' = unit(q + Σᵢ max(q·xᵢ, 0)^α xᵢ) over its n nearest style neighbours xᵢ
in the catalogue (itself left out; Radenović, Tolias and Chum 2018, α = 3 as there), and candidates are ranked by
q'·x; the stored vectors are left as they are. Rule and result: bench/RESULTS.md, "Style query expansion in
`recommend`".

- `--recommend LABELS`: a `make-benchmark --copies` labels.csv with train and test splits; each item queries the
  rest of its split through `eval-recommend`'s `rank_queries` at the configured rule, for each n.
- `--train-bench` / `--heldout-bench`: A/B/C benchmarks; each item queries the items of its kind in its benchmark,
  a triplet is right when q'(C)·A > q'(C)·B; beside the RGB histogram baseline from the same frames.

    python bench/style_query_expansion.py --recommend /tmp/rec15/labels.csv --cache /tmp/rec15/cache \\
        --train-bench /tmp/vg6/train-1{0..5} --heldout-bench /tmp/vidstyle-generalise/heldout-1{0..5} \\
        --json bench/style_query_expansion.json
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
from pathlib import Path

import numpy as np

from vidstyle.core.settings import Settings, load_settings
from vidstyle.core.vectors import QUERY_EXPANSION_ALPHA, unit
from vidstyle.evaluation.baseline import baseline_file_vectors
from vidstyle.evaluation.embedding import embed_files
from vidstyle.evaluation.recommend_eval import (
    Rule,
    expanded_queries,
    load,
    rank_queries,
    style_precision_ceiling,
    summarise,
)
from vidstyle.evaluation.triplets import default_cache_dir
from vidstyle.indexing.recommend import Blend

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
NEIGHBOURS = (0, 1, 2, 3, 5, 10)


def recommend_run(labels: Path, settings: Settings, cache: Path | None) -> dict:
    serve = settings.serve
    blend = Blend(serve.recommend_style_weight, serve.recommend_content_weight, serve.near_duplicate_content,
                  serve.recommend_candidates, serve.copy_threshold, serve.copy_background_weight)
    out: dict = {"rule": Rule("configured", blend).as_dict(), "alpha": QUERY_EXPANSION_ALPHA, "splits": {}}
    for split, data in load(labels, settings, cache).items():
        row: dict = {"style_precision_ceiling_at_k": style_precision_ceiling(data, 10)}
        for n in NEIGHBOURS:
            rows = rank_queries(data, Rule(f"n={n}", dataclasses.replace(blend, style_expansion=n)), 10)
            looks: dict[str, list[float]] = {}
            for item, r in zip(data.items, rows):
                looks.setdefault(item.style_id, []).append(r["style_precision_at_k"])
            row[f"n={n}"] = {**summarise(rows), "per_look": {k: float(np.mean(v)) for k, v in sorted(looks.items())}}
            print(split, n, round(row[f"n={n}"]["mean_style_precision_at_k"], 3), flush=True)
        out["splits"][split] = row
    return out


def triplet_hits(bench: Path, settings: Settings) -> dict[str, list[tuple[str, str, bool]]]:
    """Per representation ('hist', 'n=<n>'): (family, kind, right) for every triplet of `bench`."""
    labels = list(csv.DictReader((bench / "labels.csv").open()))
    triplets = list(csv.DictReader((bench / "triplets.csv").open()))
    paths = [bench / r["path"] for r in labels]
    emb = embed_files(paths, settings, default_cache_dir(bench / "labels.csv"))
    hist = baseline_file_vectors(paths, settings)
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for kind in sorted({r["kind"] for r in labels}):
        names = [r["path"] for r in labels if r["kind"] == kind and emb[bench / r["path"]].ok]
        at = {p: i for i, p in enumerate(names)}
        style = unit(np.stack([emb[bench / p].vectors["style"] for p in names]).astype(np.float64))
        rgb = unit(np.stack([hist[bench / p]["style"] for p in names]).astype(np.float64))
        reps = {"hist": (rgb, rgb), **{f"n={n}": (expanded_queries(style, n), style) for n in NEIGHBOURS}}
        for name, (queries, stored) in reps.items():
            for t in (t for t in triplets if t["kind"] == kind):
                c, a, b = at[t["c"]], at[t["a"]], at[t["b"]]
                right = bool(queries[c] @ stored[a] > queries[c] @ stored[b])
                out.setdefault(name, []).append((t["family"], kind, right))
    return out


def triplet_table(benches: list[Path], settings: Settings) -> dict:
    hits: dict[str, list[tuple[str, str, bool]]] = {}
    for bench in benches:
        for name, rows in triplet_hits(bench, settings).items():
            hits.setdefault(name, []).extend(rows)
        print(bench.name, flush=True)
    table = {}
    for name, rows in hits.items():
        groups = sorted({f for f, _, _ in rows} | {k for _, k, _ in rows})
        table[name] = {"n": len(rows), "all": float(np.mean([r for *_, r in rows])),
                       **{g: float(np.mean([r for f, k, r in rows if g in (f, k)])) for g in groups}}
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recommend", type=Path, help="labels.csv of a copy benchmark with train and test splits")
    ap.add_argument("--cache", type=Path, default=None, help="embedding cache for --recommend")
    ap.add_argument("--train-bench", type=Path, nargs="*", default=[])
    ap.add_argument("--heldout-bench", type=Path, nargs="*", default=[])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    settings = load_settings(OFFLINE)
    result: dict = {}
    if args.recommend:
        result["recommend"] = recommend_run(args.recommend, settings, args.cache)
    for group, benches in (("train", args.train_bench), ("heldout", args.heldout_bench)):
        if benches:
            result[f"triplets_{group}"] = triplet_table(benches, settings)
    print(json.dumps({k: v for k, v in result.items() if k.startswith("triplets")}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
