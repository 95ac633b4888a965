"""Copy detection alone on a copy benchmark (`make-benchmark --copies`): no model, so it runs on the whole
benchmark in a minute where `eval-recommend` (which embeds every video) cannot.

The copy threshold is chosen on the train split (best F1 over its pairs) and reported on test (held-out seed,
looks and edit kinds), with the functions `vidstyle eval-recommend` uses. Usage:

    python bench/copy_detection.py BENCH/labels.csv [--json OUT.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.evaluation.recommend_eval import SplitData, _descriptors, best_f1_threshold, detection, read_items
from vidstyle.indexing.copies import match

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = load_settings(OFFLINE)
    items = read_items(args.labels)
    desc = _descriptors(items, settings)
    splits = {}
    for split in dict.fromkeys(i.split for i in items):
        sel = [i for i in items if i.split == split]
        n = len(sel)
        copy = np.full((n, n), np.nan)
        for a, b in itertools.combinations(range(n), 2):
            s = match(desc[sel[a].path], desc[sel[b].path]).score
            copy[a, b] = copy[b, a] = np.nan if s is None else s
        # No model here: the content columns are zeros, so only the copy-score figures mean anything.
        splits[split] = SplitData(sel, np.zeros((n, 1)), np.zeros((n, 1)), copy)
    iu = np.triu_indices(len(splits["train"].items), 1)
    threshold = round(best_f1_threshold(splits["train"].same("footage_id")[iu], splits["train"].copy[iu]), 3)
    out = {"copy_threshold": threshold, "splits": {}}
    for name, data in splits.items():
        d = detection(data, threshold, 2.0)
        out["splits"][name] = {k: d[k] for k in ("pairs", "copy_pairs", "copy_micro_ap", "copy_recall",
                                                 "copy_false_positive_rate", "other_footage_flagged",
                                                 "recall_by_edit")}
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
