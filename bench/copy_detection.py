"""Copy detection alone on a copy benchmark (`make-benchmark --copies`): no model, so it runs on the whole
benchmark in minutes where `eval-recommend` (which embeds every video) cannot.

Matchers side by side, in one run (`MATCHERS`): `plain` (whole frames only, as is and mirrored: the first
matcher), `crops` (crop windows of either video at whole-cell offsets: the matcher before this one), `dense`
(windows at half-cell offsets) and `shipped` (`vidstyle.embedder.copies.match`'s default: dense windows and static
overlays weighed down). For each, the copy threshold is chosen on the train split (best F1 over its pairs) and
reported on test (held-out seed, looks and edit kinds), with the functions `vidstyle eval-recommend` uses.
Usage:

    python bench/copy_detection.py BENCH/labels.csv [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.embedder.copy_descriptor import WINDOWS_WHOLE_CELL
from vidstyle.evaluation.recommend_eval import (
    SplitData,
    _descriptors,
    best_f1_threshold,
    copy_scores,
    detection,
    pair_scores,
    read_items,
)

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
MATCHERS: dict[str, dict] = {
    "plain": {"crops": False, "overlays": False},
    "crops": {"windows": WINDOWS_WHOLE_CELL, "overlays": False},
    "dense": {"overlays": False},
    "shipped": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    items = read_items(args.labels)
    desc = _descriptors(items, load_settings(OFFLINE))
    out: dict = {}
    for name, options in MATCHERS.items():
        started = time.perf_counter()
        splits = {}
        for split in dict.fromkeys(i.split for i in items):
            sel = [i for i in items if i.split == split]
            # No model here: the content columns are zeros, so only the copy-score figures mean anything.
            zeros = np.zeros((len(sel), 1))
            splits[split] = SplitData(sel, zeros, zeros, copy_scores([desc[i.path] for i in sel], **options))
        seconds = time.perf_counter() - started
        same, copy, _, _ = pair_scores(splits["train"])
        threshold = round(best_f1_threshold(same, copy), 3)
        out[name] = {"copy_threshold": threshold, "match_seconds": round(seconds, 1), "splits": {}}
        for split, data in splits.items():
            d = detection(data, threshold, 2.0)
            out[name]["splits"][split] = {k: d[k] for k in ("pairs", "copy_pairs", "copy_micro_ap", "copy_recall",
                                                            "copy_false_positive_rate", "other_footage_flagged",
                                                            "recall_by_edit")}
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
