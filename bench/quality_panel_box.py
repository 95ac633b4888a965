"""Three-panel content with the moving region's box refined to the pixel (`model.content_mask_share`) beside the
shipped grid box, through the production path (`evaluate_triplets`: Embedder, decode pool, masking, cache).

Only the three-panel triplets of each benchmark are scored (the refinement changes nothing for a video without a
framing template); they are written to `triplets_three_panel.csv` beside the benchmark's own CSV. Reported per
benchmark and pooled: content and style accuracy for the grid box (share 0) and each share, the config otherwise.

    python bench/quality_panel_box.py BENCH [BENCH ...] --shares 0.5 --json OUT.json
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.evaluation.triplets import evaluate_triplets

REPO = Path(__file__).resolve().parents[1]
KIND = "three_panel"


def three_panel_csv(bench: Path) -> Path:
    """The benchmark's three-panel triplets as their own CSV (same columns, same folder, so paths still resolve)."""
    with (bench / "triplets.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    out = bench / f"triplets_{KIND}.csv"
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["kind"] == KIND)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", type=Path, nargs="+")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.5])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "offline.yaml")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    base = load_settings(args.config)
    variants = {f"share={s:g}": base.model_copy(update={"model": base.model.model_copy(
        update={"content_mask_share": s})}) for s in [0.0, *args.shares]}  # share 0: the grid box
    right: dict[str, dict[str, list[np.ndarray]]] = {v: {"content": [], "style": []} for v in variants}
    out: dict = {"benches": {}}
    for bench in args.benches:
        path = three_panel_csv(bench)
        row = {}
        for name, settings in variants.items():
            ev = evaluate_triplets(path, settings, bench / ".vidstyle-cache")
            content, style = ev.sims["content"].content_right(), ev.sims["style"].style_right()
            right[name]["content"].append(content)
            right[name]["style"].append(style)
            row[name] = {"n": int(content.size), "content": round(float(content.mean()), 3),
                         "style": round(float(style.mean()), 3)}
        out["benches"][str(bench)] = row
        print(bench, json.dumps(row), flush=True)
    out["pooled"] = {name: {axis: round(float(np.concatenate(v).mean()), 4) for axis, v in axes.items()}
                     | {"n": int(sum(len(x) for x in axes["content"]))} for name, axes in right.items()}
    out["seconds"] = round(time.perf_counter() - started, 1)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["pooled"], indent=1))


if __name__ == "__main__":
    main()
