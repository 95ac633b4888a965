"""Copy matching with edge-band hypotheses (`vidstyle.embedder.copies`, `edges`) beside the matcher without them.

Captions, title bars, subtitles and side banners sit along an edge of the frame; under one, a row or column of the
4 x 4 view cells scores near zero or below and pulls the whole-frame cosine down. With `edges` (the four bands, or
those of `--bands`) the matcher also tries each pairing of views with one edge row or column left out of both,
composed with every other hypothesis, and keeps the best per video pair. Training data has no edge overlays, so the
training sets can only show what the extra hypotheses cost; the rule (bench/RESULTS.md, fixed before the first
run): ship if, on BOTH training sets, the normalised µAP drops by at most `MAX_AP_DROP` and the share of other
pairs flagged at the train-chosen threshold rises by at most `MAX_FLAGGED_RISE`.

Blocks of the JSON, every one with both matchers in the same run:
- `selection`: the 15-subject train split and the SECOND training selection set, scored as
  `bench/copy_normalisation.py` scores them (normalised with k 10, beta 1 against the cross backgrounds: train's the
  second set, the second set's train); each matcher's threshold the best F1 on train; `rule` applies the rule to the
  band matcher and to `either`: per pair the higher of the two matchers' normalised scores, the band one moved onto
  the shipped one's scale by the difference of their train thresholds (`selection` and `heldout` only).
- `heldout`: the test split (background: train), at each matcher's train threshold: µAP, recall, other pairs
  flagged, recall by primary edit (copies against their original).
- `shipped`: what would ship, through the production functions: bg(x) against the packaged background set,
  thresholds the best F1 on train (how `serve.copy_threshold` was chosen), on train and test.
- `ranking` (with `--ranking LABELS`, the 8-subject splits of `bench/recommend_eval.py`, its cached embeddings):
  the configured blend (configs/offline.yaml) with each matcher at its `shipped` threshold, per split.
- `cost`: ms a pair of `match` on test videos, each matcher, min of 3 interleaved runs.
Usage:

    python bench/copy_edges.py BENCH/labels.csv SECOND/labels.csv --json OUT.json [--cache DIR]
        [--ranking REC/labels.csv] [--bands top bottom left right]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from copy_projection import _load, set_arguments  # bench/: the three sets and their cached descriptors

from vidstyle.core.settings import load_settings
from vidstyle.embedder.copies import EDGE_BANDS, best_score, match, prepare
from vidstyle.embedder.copy_background import K, background_score, packaged
from vidstyle.evaluation.recommend_eval import (
    Item,
    Rule,
    SplitData,
    _descriptors,
    best_f1_threshold,
    detection,
    load,
    rank_queries,
    summarise,
)
from vidstyle.indexing.recommend import Blend

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
BACKGROUND = {"train": "second", "second": "train", "test": "train"}  # as bench/copy_normalisation.py
BETA = 1.0
MATCHERS: dict[str, tuple[str, ...]] = {"shipped": (), "edges": tuple(EDGE_BANDS)}
MAX_AP_DROP = 0.005
MAX_FLAGGED_RISE = 0.0005  # 0.05 percentage points


_OWN: dict[tuple[str, bool], np.ndarray] = {}


def _own(name: str, prepared: list, edges: tuple[str, ...]) -> np.ndarray:
    """A set's pair scores under one matcher, computed once per run (`selection` and `shipped` share them)."""
    if (name, edges) not in _OWN:
        _OWN[name, edges] = _pair_scores(prepared, edges)
    return _OWN[name, edges]


def pair_matrix(videos: list, score: Callable[[Any, Any], float]) -> np.ndarray:
    """Every pair's `score` of a set's videos (symmetric; NaN where either video is None)."""
    n = len(videos)
    out = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(i + 1, n):
            if videos[i] is not None and videos[j] is not None:
                out[i, j] = out[j, i] = score(videos[i], videos[j])
    return out


def background_matrix(videos: list, background: list, score: Callable[[Any, Any], float]) -> np.ndarray:
    """bg(x) per video against a list of background videos: the mean of its K best `score`s (as
    `background_score`); NaN for a None video."""
    return np.array([np.nan if v is None else np.sort([score(v, b) for b in background])[-K:].mean()
                     for v in videos])


def _pair_scores(prepared: list, edges: tuple[str, ...]) -> np.ndarray:
    return pair_matrix(prepared, lambda a, b: best_score(a, b, edges))


def _background(prepared: list, background: list, edges: tuple[str, ...]) -> np.ndarray:
    """bg(x) against a list of prepared videos, under the matcher with `edges`."""
    return background_matrix(prepared, background, lambda a, b: best_score(a, b, edges))


def _split(items: list[Item], copy: np.ndarray, background: np.ndarray) -> SplitData:
    """Copy scores only: style and content are not what this measures (zeros)."""
    zeros = np.zeros((len(items), 1))
    return SplitData(items, zeros, zeros, copy, background)


def _detection(data: SplitData, threshold: float) -> dict:
    d = detection(data, threshold, 1.0, BETA)
    return {"micro_ap": round(d["copy_micro_ap"], 4), "raw_micro_ap": round(d["raw_copy_micro_ap"], 4),
            "recall": round(d["copy_recall"], 4), "other_pairs_flagged": round(d["copy_false_positive_rate"], 6),
            "other_footage_flagged": round(d["other_footage_flagged"], 4),
            "recall_by_edit": {k: round(v, 3) for k, v in d["recall_by_edit"].items()}}


def _threshold(data: SplitData) -> float:
    iu = np.triu_indices(len(data.items), 1)
    return round(best_f1_threshold(data.same("footage_id")[iu], data.copy_for(BETA)[iu]), 3)


def _either(shipped: SplitData, bands: SplitData, offset: float) -> SplitData:
    """Per pair the higher of the two normalised scores, the band one moved by `offset` (the difference of the two
    train thresholds) onto the shipped one's scale; as a score with no background left to subtract."""
    a, b = shipped.copy_for(BETA), bands.copy_for(BETA) - offset
    combined = np.where(np.isnan(a) | np.isnan(b), np.nan, np.fmax(a, b))
    return _split(shipped.items, combined, np.zeros(len(shipped.items)))


def _selection(sets: dict, prepared: dict) -> dict:
    """`selection` and `heldout` (module docstring): cross backgrounds, thresholds chosen on train; `either` is the
    higher of the shipped and the band matchers' normalised scores per pair."""
    out: dict = {"selection": {}, "heldout": {}, "rule": {}}
    data: dict[str, dict[str, SplitData]] = {}
    thresholds: dict[str, float] = {}
    for matcher, edges in MATCHERS.items():
        data[matcher] = {name: _split(sets[name], _own(name, prepared[name], edges),
                                      _background(prepared[name],
                                                  [p for p in prepared[BACKGROUND[name]] if p is not None], edges))
                         for name in ("train", "second", "test")}
        thresholds[matcher] = _threshold(data[matcher]["train"])
    offset = thresholds["edges"] - thresholds["shipped"]
    data["either"] = {name: _either(data["shipped"][name], data["edges"][name], offset) for name in data["shipped"]}
    thresholds["either"] = _threshold(data["either"]["train"])
    out["either_offset"] = round(offset, 4)
    for matcher, splits in data.items():
        threshold = thresholds[matcher]
        out["selection"][matcher] = {"threshold": threshold,
                                     **{name: _detection(splits[name], threshold) for name in ("train", "second")}}
        out["heldout"][matcher] = _detection(splits["test"], threshold)
    for matcher in ("edges", "either"):
        checks = cost_checks(out["selection"]["shipped"], out["selection"][matcher])
        out["rule"][matcher] = {"checks": checks, "ships": all(checks.values())}
    return out


def cost_checks(before: dict, after: dict) -> dict[str, bool]:
    """The cost rule on both training sets' `selection` rows: µAP drops by at most `MAX_AP_DROP`, other pairs flagged
    rise by at most `MAX_FLAGGED_RISE` (module docstring)."""
    return {f"{name} {what}": ok for name in ("train", "second") for what, ok in (
        ("µAP drop", before[name]["micro_ap"] - after[name]["micro_ap"] <= MAX_AP_DROP),
        ("other pairs flagged rise",
         after[name]["other_pairs_flagged"] - before[name]["other_pairs_flagged"] <= MAX_FLAGGED_RISE))}


def _shipped(sets: dict, prepared: dict) -> dict:
    """`shipped` (module docstring): the packaged background, thresholds the best F1 on train."""
    background = list(packaged().videos)
    out: dict = {"background_sha256": packaged().sha256}
    for matcher, edges in MATCHERS.items():
        data = {name: _split(sets[name], _own(name, prepared[name], edges),
                             _background(prepared[name], background, edges)) for name in ("train", "test")}
        threshold = _threshold(data["train"])
        out[matcher] = {"threshold": threshold, **{name: _detection(d, threshold) for name, d in data.items()}}
    return out


def _ranking(labels: Path, thresholds: dict, k: int = 10) -> dict:
    """`ranking` (module docstring): the configured blend with each matcher at its threshold, same embeddings."""
    settings = load_settings(OFFLINE)
    serve = settings.serve
    splits = load(labels, settings, labels.parent / "cache")
    out: dict = {"blend": [serve.recommend_style_weight, serve.recommend_content_weight,
                           serve.near_duplicate_content], "thresholds": thresholds, "splits": {}}
    for split, data in splits.items():
        desc = _descriptors(data.items, settings)
        out["splits"][split] = {}
        for matcher, edges in MATCHERS.items():
            copy = _pair_scores([prepare(desc[i.path]) for i in data.items], edges)
            background = np.array([np.nan if (b := background_score(desc[i.path], edges=edges)) is None else b
                                   for i in data.items])
            scored = SplitData(data.items, data.style, data.content, copy, background)
            rule = Rule(matcher, Blend(serve.recommend_style_weight, serve.recommend_content_weight,
                                       serve.near_duplicate_content, serve.recommend_candidates, thresholds[matcher],
                                       BETA))
            out["splits"][split][matcher] = {**summarise(rank_queries(scored, rule, k)),
                                             "detection": _detection(scored, thresholds[matcher])}
    return out


def _cost(desc: list, pairs: int = 200) -> dict:
    """ms a pair of `match` (both sides prepared inside, as a `recommend` request does), min of 3 interleaved runs."""
    usable = [d for d in desc if d is not None][:30]
    chosen = [(a, b) for a in range(len(usable)) for b in range(a + 1, len(usable))][:pairs]
    runs: dict = {m: [] for m in MATCHERS}
    for _ in range(3):
        for matcher, edges in MATCHERS.items():
            started = time.perf_counter()
            for a, b in chosen:
                match(usable[a], usable[b], edges=edges)
            runs[matcher].append((time.perf_counter() - started) / len(chosen) * 1000)
    best = {m: round(min(v), 3) for m, v in runs.items()}
    return {"pairs": len(chosen), "ms_per_pair": best, "runs_ms": runs,
            "ratio": round(best["edges"] / best["shipped"], 2)}


def main() -> None:
    parser = set_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--ranking", type=Path, help="labels.csv of bench/recommend_eval.py's benchmark")
    parser.add_argument("--bands", nargs="+", choices=list(EDGE_BANDS), default=list(EDGE_BANDS),
                        help="the edge bands tried (default all four)")
    args = parser.parse_args()
    MATCHERS["edges"] = tuple(args.bands)
    started = time.perf_counter()
    sets, desc = _load(args.labels, args.second, args.cache)
    prepared = {name: [prepare(d) for d in ds] for name, ds in desc.items()}
    result: dict = {"sets": {name: len(sel) for name, sel in sets.items()}, "bands": args.bands,
                    "background": BACKGROUND, "k": K,
                    "beta": BETA, "rule": {"max_ap_drop": MAX_AP_DROP, "max_flagged_rise": MAX_FLAGGED_RISE}}
    result.update(_selection(sets, prepared))
    args.json.write_text(json.dumps(result, indent=2) + "\n")  # a stopped run keeps what it has
    result["shipped"] = _shipped(sets, prepared)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.ranking:
        result["ranking"] = _ranking(args.ranking, {m: result["shipped"][m]["threshold"] for m in MATCHERS})
    result["cost"] = _cost(desc["test"])
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
