"""How well the moving region's box holds a three-panel copy's panel: the grid box (`regions.mask_box`) beside the
box refined to the pixel (`regions.refine_box`) at several shares, against the template's true panel.

The sets are made here from training data only: the copy benchmark's train generator (`draw_items`, `_Renderer`)
with training looks, the edits three-panel, speed and compression, and only the copies that are three-panel ones;
each template is drawn from the renderer's seed and the copy's key, so its panel is known. Panels span the frame's
width, so a box is scored by the intersection-over-union of its rows with the panel's (0 when no box is found).
Usage:

    python bench/panel_boxes.py WORK [--seeds 11 12] [--shares 0.25 0.5 0.75] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.embedder.regions import mask_box, moving_region_weights, refine_box
from vidstyle.evaluation.benchmark import PANEL_FRAME_WH, make_template
from vidstyle.evaluation.copy_benchmark import TRAIN_LOOKS, CopyItem, SplitSpec, _Renderer, draw_items
from vidstyle.media.decode import decode_file
from vidstyle.media.samples import CONTENTS

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
SIZE = 224


def three_panel_copies(work: Path, seed: int) -> list[tuple[CopyItem, Path]]:
    """The set's three-panel copies, rendered (H.264) under `work`."""
    spec = SplitSpec("train", seed, ("three_panel", "speed", "compress"), TRAIN_LOOKS)
    renderer = _Renderer(work, seed)
    return [(item, renderer.render(item)) for item in draw_items(spec, list(CONTENTS)) if "three_panel" in item.edits]


def row_iou(box: tuple[int, int, int, int] | None, truth: tuple[float, float]) -> float:
    if box is None:
        return 0.0
    inter = max(0.0, min(box[1], truth[1]) - max(box[0], truth[0]))
    return inter / (max(box[1], truth[1]) - min(box[0], truth[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    d = load_settings(OFFLINE).decode
    out: dict = {}
    for seed in args.seeds:
        scores: dict[str, list[float]] = {"grid": [], **{f"refined {s:g}": [] for s in args.shares}}
        for item, path in three_panel_copies(args.work / f"seed-{seed}", seed):
            _, y, _, h = make_template(f"{item.content}{item.shot}{item.number}", seed, PANEL_FRAME_WH).panel
            truth = (y * SIZE / PANEL_FRAME_WH[1], (y + h) * SIZE / PANEL_FRAME_WH[1])
            frames = decode_file(path, SIZE, d.max_frames, d.min_gap_s).frames
            weights = moving_region_weights(frames)
            box = None if weights is None else mask_box(weights, SIZE)
            scores["grid"].append(row_iou(box, truth))
            for share in args.shares:
                refined = None if box is None else refine_box(frames, box, share)
                scores[f"refined {share:g}"].append(row_iou(refined, truth))
        out[f"seed {seed}"] = {name: {"videos": len(v), "mean_iou": round(float(np.mean(v)), 3),
                                      "under_0.8": int((np.array(v) < 0.8).sum())} for name, v in scores.items()}
        print(seed, json.dumps(out[f"seed {seed}"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
