"""Copy scores normalised against a background set (the similarity normalisation of the Video Similarity Challenge
2022 descriptor track): does it separate copies better than the raw copy score? Measured, not shipped.

Some videos score high against everything (a nearly blank frame, a look that lays a static grid over the footage,
a plain backdrop), others low; a single threshold over raw scores treats them alike. Normalised:

    S'(a, b) = S(a, b) - beta * (bg(a) + bg(b)) / 2,   bg(x) = mean of x's `k` highest copy scores against a
                                                       background set of other footage

with `S` = `vidstyle.embedder.copies.match`'s score (the shipped matcher, stored descriptors unchanged). Three
sets: the copy benchmark's `train` and `test` splits (`make-benchmark --copies`) and a SECOND training selection
set (training seed, training looks; e.g. the train split's generator with another seed). Backgrounds never hold a
set's own footage and never the test split: test's background is train, train's is SECOND, SECOND's is train.
(k, beta) is chosen by the mean µAP over train and SECOND; test is reported beside the raw score in the same run.

`shipped` then measures what ships, through the production functions: bg(x) from
`vidstyle.embedder.copy_background.background_score` against the packaged background set (SECOND's generator,
re-encoded: `bench/make_copy_background.py`, so SECOND itself is not scored there), K = 10, beta =
`serve.copy_background_weight`; the copy threshold of each score (raw and normalised) is its best F1 on train
(`evaluation.recommend_eval.best_f1_threshold`), and test is scored at those thresholds beside each other.

`--blur SIGMA` describes every set with another descriptor blur (`copy_descriptor.BLUR`, a stored-format change
measured before it ships); the packaged background was described with the shipped blur, so `shipped` is left out
and the cross backgrounds above are the comparison (run once with each blur).
Usage:

    python bench/copy_normalisation.py BENCH/labels.csv SECOND/labels.csv [--blur SIGMA] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.embedder import copy_descriptor
from vidstyle.embedder.copies import match
from vidstyle.embedder.copy_background import background_score, normalised, packaged
from vidstyle.evaluation.recommend_eval import _descriptors, best_f1_threshold, copy_scores, micro_ap, read_items

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
KS = (1, 3, 5, 10)
BETAS = (0.25, 0.5, 0.75, 1.0)
BACKGROUND = {"train": "second", "second": "train", "test": "train"}


def _scores(a: list[np.ndarray | None], b: list[np.ndarray | None] | None = None) -> np.ndarray:
    """Copy scores of every pair of `a` (symmetric, NaN diagonal), or of `a` against `b`."""
    same = b is None
    b = a if b is None else b
    out = np.full((len(a), len(b)), np.nan)
    for i, x in enumerate(a):
        for j in range(i + 1 if same else 0, len(b)):
            score = match(x, b[j]).score
            out[i, j] = np.nan if score is None else score
            if same:
                out[j, i] = out[i, j]
    return out


def _shipped(sets: dict, desc: dict, weight: float) -> dict:
    """Raw and normalised scores against the packaged background, thresholds chosen on train (module docstring)."""
    out: dict = {"background_sha256": packaged().sha256, "weight": weight, "splits": {}}
    scores = {}
    for name in ("train", "test"):
        raw = copy_scores(desc[name])
        bg = np.array([np.nan if (b := background_score(d)) is None else b for d in desc[name]])
        norm = np.array([[np.nan if (v := normalised(None if np.isnan(raw[i, j]) else raw[i, j], bg[i], bg[j],
                                                      weight)) is None else v for j in range(len(bg))]
                         for i in range(len(bg))])
        footage = np.array([i.footage_id for i in sets[name]])
        iu = np.triu_indices(len(bg), 1)
        scores[name] = ((footage[:, None] == footage[None, :])[iu], {"raw": raw[iu], "normalised": norm[iu]})
        out["splits"][name] = {"background_scores": {"min": float(np.nanmin(bg)), "median": float(np.nanmedian(bg)),
                                                     "max": float(np.nanmax(bg))}}
    for kind in ("raw", "normalised"):
        positive, by_kind = scores["train"]
        threshold = round(best_f1_threshold(positive, by_kind[kind]), 3)
        out.setdefault("thresholds_chosen_on_train", {})[kind] = threshold
        for name, (positive, by_kind) in scores.items():
            flagged = np.nan_to_num(by_kind[kind], nan=-np.inf) >= threshold
            out["splits"][name][kind] = {"micro_ap": micro_ap(positive, by_kind[kind]),
                                         "recall": float(flagged[positive].mean()),
                                         "other_pairs_flagged": float(flagged[~positive].mean())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--blur", type=float, default=copy_descriptor.BLUR)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    shipped_blur, copy_descriptor.BLUR = copy_descriptor.BLUR, args.blur  # read by describe at call time
    started = time.perf_counter()
    items = read_items(args.labels)
    sets = {"train": [i for i in items if i.split == "train"], "test": [i for i in items if i.split == "test"],
            "second": read_items(args.second)}
    settings = load_settings(OFFLINE)
    desc = {name: [d[i.path] for i in sel] for name, sel in sets.items()
            for d in [_descriptors(sel, settings)]}
    result: dict = {"sets": {name: len(sel) for name, sel in sets.items()}, "background": BACKGROUND,
                    "blur": args.blur, "micro_ap": {}}
    for name, sel in sets.items():
        own = _scores(desc[name])
        top = np.sort(np.nan_to_num(_scores(desc[name], desc[BACKGROUND[name]]), nan=-1.0), axis=1)[:, ::-1]
        footage = np.array([i.footage_id for i in sel])
        iu = np.triu_indices(len(sel), 1)
        positive = (footage[:, None] == footage[None, :])[iu]
        row = {"raw": micro_ap(positive, own[iu])}
        for k in KS:
            bg = top[:, :k].mean(axis=1)
            for beta in BETAS:
                row[f"k={k} beta={beta}"] = micro_ap(positive, (own - beta * (bg[:, None] + bg[None, :]) / 2)[iu])
        result["micro_ap"][name] = row
    if args.blur == shipped_blur:  # the packaged background's descriptors are the shipped blur's
        result["shipped"] = _shipped(sets, desc, settings.serve.copy_background_weight)
    grid = [key for key in result["micro_ap"]["train"] if key != "raw"]
    chosen = max(grid, key=lambda key: result["micro_ap"]["train"][key] + result["micro_ap"]["second"][key])
    result["chosen_on_train_and_second"] = chosen
    result["summary"] = {name: {"raw": round(row["raw"], 3), chosen: round(row[chosen], 3)}
                         for name, row in result["micro_ap"].items()}
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
