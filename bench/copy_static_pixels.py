"""Copy descriptors with static pixels weighed down (`copy_descriptor.describe(static_pixels=τ)`) beside the shipped
descriptor (τ = 0), on the copy benchmark's three sets.

A caption's text and a logo keep the same grey value on every keyframe while the footage around them changes; the
stored cells' overlay weights miss them when the footage shows through the band. Weighing each pixel's gradients by
how much that pixel varies over the video (`static_pixel_weights`) removes them before the maps are pooled. It
changes the stored maps, so every τ re-describes the same decoded frames. Training data has no overlays, so the
training sets can only show what the weight costs; the rule (bench/RESULTS.md, fixed before the run) is the
edge-band rule of `bench/copy_edges.py`: a τ passes if, on BOTH training sets, the normalised µAP drops by at most
`MAX_AP_DROP` and the other pairs flagged at the train-chosen threshold rise by at most `MAX_FLAGGED_RISE`; the
largest passing τ is chosen.

Blocks of the JSON, every descriptor in the same run:
- `selection`: the 15-subject train split and the SECOND training selection set, normalised (k 10, beta 1) against
  the cross backgrounds (train's the second set, the second set's train) described the same way; each descriptor's
  threshold the best F1 on train; `rule` per τ, and `chosen`.
- `heldout`: the test split (background: train) at each descriptor's train threshold: µAP, recall, other pairs
  flagged, recall by primary edit.
- `heldout_fresh` (with `--fresh LABELS`): another held-out split, the test generator with a seed no earlier run
  has seen, scored as `heldout` (background: train): held out for choices made after `heldout` was first read.
- `weights`: the share of pixels weighed under 0.5 per set and τ (how much each τ takes away).
Usage:

    python bench/copy_static_pixels.py BENCH/labels.csv SECOND/labels.csv --json OUT.json [--frames DIR]
        [--taus 0.1 0.25 0.5] [--fresh FRESH/labels.csv]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from copy_edges import (
    BACKGROUND,
    _background,
    _detection,
    _pair_scores,
    _split,
    _threshold,
    cost_checks,
)

from vidstyle.core.settings import load_settings
from vidstyle.embedder.copies import prepare
from vidstyle.embedder.copy_descriptor import describe, region_greys, static_pixel_weights
from vidstyle.evaluation.recommend_eval import Item, read_items
from vidstyle.media.decode import DecodeError, decode_file

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
BACKGROUNDS = {**BACKGROUND, "fresh": "train"}  # held-out sets are normalised against training data only


def _frames(sets: dict[str, list[Item]], cache: Path | None) -> dict[str, list[np.ndarray | None]]:
    """Each set's decoded keyframes (the embedder's decode settings), decoded once into `cache`."""
    d = (settings := load_settings(OFFLINE)).decode
    out = {}
    for name, items in sets.items():
        path = cache / f"{name}.npz" if cache else None
        if path is not None and path.is_file():
            stored = np.load(path)
            out[name] = [stored[str(k)] if str(k) in stored.files else None for k in range(len(items))]
            continue
        frames: list[np.ndarray | None] = []
        for item in items:
            try:
                frames.append(decode_file(item.path, settings.model.input_size, d.max_frames, d.min_gap_s,
                                          max_file_mb=d.max_file_mb).frames)
            except DecodeError:
                frames.append(None)
        out[name] = frames
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **{str(k): f for k, f in enumerate(frames) if f is not None})
    return out


def _weighed_share(frames: list[np.ndarray | None], tau: float) -> float:
    """The share of pixels whose weight is under 0.5 at `tau`, over a set's videos (the grid box's crop, as the τ
    grid was run)."""
    shares = []
    for f in frames:
        if f is None:
            continue
        w = static_pixel_weights(region_greys(f, box_share=0.0), tau)
        shares.append(0.0 if w is None else float((w < 0.5).mean()))
    return round(float(np.mean(shares)), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--frames", type=Path, help="folder for the sets' decoded keyframes (decoded once)")
    parser.add_argument("--taus", type=float, nargs="+", default=[0.1, 0.25, 0.5])
    parser.add_argument("--fresh", type=Path, help="labels.csv of a held-out split no earlier run has read")
    parser.add_argument("--box-share", type=float, default=0.0,
                        help="with --taus T: compare τ = T with the box refined at this share (`refine_box`) against "
                             "τ = T without, instead of the τ grid")
    args = parser.parse_args()
    started = time.perf_counter()
    items = read_items(args.labels)
    sets = {"train": [i for i in items if i.split == "train"], "second": read_items(args.second),
            "test": [i for i in items if i.split == "test"]}
    if args.fresh:
        sets["fresh"] = read_items(args.fresh)
    frames = _frames(sets, args.frames)
    out: dict = {"sets": {k: len(v) for k, v in sets.items()}, "taus": args.taus, "box_share": args.box_share,
                 "selection": {}, "heldout": {},
                 "rule": {}, "weights": {}}
    if args.box_share > 0:  # the shipped τ against the same τ with the box refined
        tau = args.taus[0]
        candidates = {f"tau={tau:g}": {"static_pixels": tau, "box_share": 0.0},
                      f"tau={tau:g} box={args.box_share:g}": {"static_pixels": tau, "box_share": args.box_share}}
    else:  # the τ grid was chosen on the grid box
        candidates = {f"tau={tau:g}": {"static_pixels": tau, "box_share": 0.0} for tau in [0.0, *args.taus]}
    for key, options in candidates.items():
        prepared = {name: [None if f is None else prepare(describe(f, **options)) for f in fs]
                    for name, fs in frames.items()}
        data = {name: _split(sets[name], _pair_scores(prepared[name], ()),
                             _background(prepared[name], [p for p in prepared[BACKGROUNDS[name]] if p is not None], ()))
                for name in sets}
        threshold = _threshold(data["train"])
        out["selection"][key] = {"threshold": threshold,
                                 **{name: _detection(data[name], threshold) for name in ("train", "second")}}
        out["heldout"][key] = _detection(data["test"], threshold)
        if "fresh" in data:
            out.setdefault("heldout_fresh", {})[key] = _detection(data["fresh"], threshold)
        if not options["box_share"] and options["static_pixels"] > 0:
            out["weights"][key] = {name: _weighed_share(fs, options["static_pixels"]) for name, fs in frames.items()}
        print(key, json.dumps(out["selection"][key])[:300], flush=True)
    first, *others = candidates
    before = out["selection"][first]
    for key in others:
        checks = cost_checks(before, out["selection"][key])
        out["rule"][key] = {"checks": checks, "passes": all(checks.values())}
    passing = [key for key in others if out["rule"][key]["passes"]]
    out["chosen"] = passing[-1] if passing else first  # the largest passing τ, or the refined box if it passes
    out["seconds"] = round(time.perf_counter() - started, 1)
    args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({"rule": out["rule"], "chosen": out["chosen"]}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
