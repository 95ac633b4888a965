"""A learned linear projection of the copy descriptor, applied at match time: does it make the copy score robust to
unseen looks? Measured against the shipped matcher in the same run, with the background normalisation as shipped.

By analogy with the content head (`vidstyle.embedder.content_head.fit_projection`): the descriptor's per-cell
orientation histograms move under looks, crops and compression of the same footage; whitening the *within-footage*
covariance (shrunk towards the identity) and keeping the directions that separate footage may make the matcher's
cosines move less under a look it never saw. Stored descriptors and EMB_DIR do not change.

Granularity: one 8 x 8 matrix P over the `BINS` orientation bins, shared by every cell of every view. The matcher
(`vidstyle.embedder.copies`) compares cells (`copy_descriptor.cells`: pooled, power-law, centred over the view) with
each cell weighed by the two videos' overlay weights, over 34 windows and their mirrors; a projection that stays
inside a cell keeps all three: the windows pool the same stored cells, the weights still refer to one cell each,
and mirroring (columns reversed, bin b -> BINS - 1 - b) commutes with P because the fit is made mirror-symmetric
(every aligned pair also enters mirrored). A per-view 128 x 128 matrix would mix cells (a static overlay cell would
leak into moving ones) and has 256x the parameters for ~30 footage per training set.

Fitting data (training footage only): for every pair of videos of one footage in the fitting set (original and
copies), the matcher's own best hypothesis (which view of which video, mirrored or not) and its order-preserving
alignment pair keyframes; each aligned keyframe pair gives 16 pairs of cells (cells with an overlay weight product
under 0.5 left out). Each cell pair is one class of `fit_projection` (within: the pair's difference; between: the
spread of the pairs' means), in both orientations. No mean is subtracted at match time: cells are already centred
over their view, so P only re-weighs directions. With all 8 dims kept the between-class rotation does not change a
cosine: the setting is a shrunk within-footage whitening.

Protocol (fixed before the held-out run, bench/RESULTS.md): the projection fitted on the train split scores the
SECOND selection set and the one fitted on SECOND scores the train split, so each training-set µAP is out of
sample for its fit; scores normalised as shipped (k = 10, beta = 1) against cross backgrounds (train's: SECOND,
SECOND's: train, test's: train, as `bench/copy_normalisation.py`). A setting ships only with a µAP gain of at least
0.01 over the shipped matcher on EACH training set. `--heldout` then scores the test split once, every setting
fitted on train and SECOND together (what would ship), report only.

Usage:

    python bench/copy_projection.py BENCH/labels.csv SECOND/labels.csv --json OUT.json [--cache DIR]
        [--heldout | --diagnostics]

`--diagnostics` (after the choice, report only): per-edit AP of the shipped matcher and of shrinkage 0.1 and 1
fitted on either training set, on all three sets (so also in sample), and the within-footage spectrum of the fit.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vidstyle.core.settings import load_settings
from vidstyle.embedder import copies
from vidstyle.embedder.content_head import fit_projection
from vidstyle.embedder.copy_descriptor import WINDOWS, cells
from vidstyle.evaluation.recommend_eval import _descriptors, micro_ap, read_items

OFFLINE = Path(__file__).resolve().parents[1] / "configs" / "offline.yaml"
K, BETA = 10, 1.0  # the shipped background normalisation
BACKGROUND = {"train": "second", "second": "train", "test": "train"}
FIT_FOR = {"train": "second", "second": "train"}  # each training set is scored with the projection fitted on the other
SETTINGS = {"shrink 0.1": (0.1, 8), "shrink 0.3": (0.3, 8), "shrink 1": (1.0, 8), "shrink 3": (3.0, 8),
            "shrink 0.3, 6 dims": (0.3, 6), "shrink 1, 6 dims": (1.0, 6)}
MIN_WEIGHT = 0.5  # cells whose overlay weight product is under this are left out of the fit


def _view_pair(index: int) -> tuple[bool, int, int]:
    """`copies._hypotheses`' stacking order → (candidate mirrored, query view, candidate view)."""
    per = 2 * len(WINDOWS) - 1
    mirrored, r = divmod(index, per)
    if r == 0:
        return bool(mirrored), 0, 0
    if r < len(WINDOWS):
        return bool(mirrored), 0, r
    return bool(mirrored), r - len(WINDOWS) + 1, 0


def _alignment(sims: np.ndarray) -> list[tuple[int, int]]:
    """The keyframe pairs of `copies._align`'s order-preserving alignment (traced back; positive gains only)."""
    gain = np.maximum(sims, 0.0)
    n, m = gain.shape
    best = np.zeros((n + 1, m + 1))
    for i in range(n):
        for j in range(m):
            best[i + 1, j + 1] = max(best[i, j] + gain[i, j], best[i, j + 1], best[i + 1, j])
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        if best[i, j] == best[i - 1, j]:
            i -= 1
        elif best[i, j] == best[i, j - 1]:
            j -= 1
        else:
            if gain[i - 1, j - 1] > 0:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def fitting_cells(items: list, desc: list) -> tuple[np.ndarray, np.ndarray]:
    """(2N, BINS) aligned cells of every same-footage video pair and (2N,) their pair labels (module docstring)."""
    xs, labels, label = [], [], 0
    prepared = [copies.prepare(d) for d in desc]
    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            if items[a].footage_id != items[b].footage_id or prepared[a] is None or prepared[b] is None:
                continue
            q, c = prepared[a], prepared[b]
            stacked = copies._hypotheses(q, c, True)
            best = int(np.argmax(copies._align_many(stacked)))
            mirrored, qv, cv = _view_pair(best)
            cx = c.mirrored if mirrored else c.plain
            weight = q.plain.weights[qv] * cx.weights[cv]
            for i, j in _alignment(stacked[best]):
                for cell in np.flatnonzero(weight >= MIN_WEIGHT):
                    x, y = q.plain.cells[i, qv, cell], cx.cells[j, cv, cell]
                    for flip in (slice(None), slice(None, None, -1)):  # both orientations: P commutes with mirror
                        xs += [x[flip], y[flip]]
                        labels += [label, label]
                        label += 1
    return np.asarray(xs, np.float64), np.asarray(labels)


def fit(data: tuple[np.ndarray, np.ndarray], shrinkage: float, dim: int) -> np.ndarray:
    """(BINS, dim) projection of a cell's orientation bins from `fitting_cells`' output."""
    return fit_projection(*data, shrinkage, dim)[1]


def _patch(projection: np.ndarray | None) -> None:
    """The matcher's cells, projected (None: the shipped cells). The stored maps are not touched."""
    if projection is None:
        copies.cells = cells
    else:
        copies.cells = lambda descriptors, windows=WINDOWS: cells(descriptors, windows) @ projection


def normalised_scores(items: list, desc: list, background: list, projection: np.ndarray | None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(n, n) raw and normalised (k = K, beta = BETA) copy scores of all pairs of one set, with one projection."""
    _patch(projection)
    try:
        own = [copies.prepare(d) for d in desc]
        bg_prep = [p for p in (copies.prepare(d) for d in background) if p is not None]
    finally:
        _patch(None)
    n = len(own)
    raw = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(i + 1, n):
            if own[i] is not None and own[j] is not None:
                raw[i, j] = raw[j, i] = copies.best_score(own[i], own[j])
    bg = np.array([np.nan if p is None else np.sort([copies.best_score(p, o) for o in bg_prep])[-K:].mean()
                   for p in own])
    return raw, raw - BETA * (bg[:, None] + bg[None, :]) / 2


def _pairs(items: list) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    footage = np.array([i.footage_id for i in items])
    iu = np.triu_indices(len(items), 1)
    return iu, (footage[:, None] == footage[None, :])[iu]


def score(items: list, desc: list, background: list, projection: np.ndarray | None) -> dict:
    """Raw and normalised µAP of all pairs of one set, with one projection."""
    raw, norm = normalised_scores(items, desc, background, projection)
    iu, positive = _pairs(items)
    return {"raw": round(micro_ap(positive, raw[iu]), 4), "normalised": round(micro_ap(positive, norm[iu]), 4)}


def per_edit(items: list, norm: np.ndarray) -> dict:
    """Normalised AP of each kind of copy pair (the pair's primary edits, e.g. `caption` for an original and its
    captioned copy, `crop+look` for two copies) against every pair of other footage: which edits a setting helps."""
    iu, positive = _pairs(items)
    edits = [i.primary_edit for i in items]
    kind = np.array(["+".join(sorted(e for e in (edits[a], edits[b]) if e)) for a, b in zip(*iu)])
    out = {"all": round(micro_ap(positive, norm[iu]), 4)}
    for k in sorted(set(kind[positive])):
        chosen = positive & (kind == k)
        keep = ~positive | chosen
        out[k] = {"pairs": int(chosen.sum()), "ap": round(micro_ap(chosen[keep], norm[iu][keep]), 4)}
    return out


def spectrum(data: tuple[np.ndarray, np.ndarray]) -> dict:
    """How much of the cells' spread is within footage, along each axis of the within-footage covariance: a
    constant ratio means within-footage change looks like the spread between footage, so whitening it is close to
    whitening the cells themselves (a fixed re-weighting of orientation frequencies, nothing look-specific)."""
    x, labels = data
    _, index = np.unique(labels, return_inverse=True)
    means = np.zeros((index.max() + 1, x.shape[1]))
    np.add.at(means, index, x)
    means /= np.bincount(index)[:, None]
    within = x - means[index]
    s_w, s_t = within.T @ within / len(x), np.cov(x.T)
    values, vectors = np.linalg.eigh(s_w)
    return {"within_share": np.round(values / values.sum(), 3).tolist(),
            "within_over_total": np.round([(v @ s_w @ v) / (v @ s_t @ v) for v in vectors.T], 3).tolist()}


def _load(labels: Path, second: Path, cache: Path | None) -> tuple[dict, dict]:
    items = read_items(labels)
    sets = {"train": [i for i in items if i.split == "train"], "second": read_items(second),
            "test": [i for i in items if i.split == "test"]}
    settings = load_settings(OFFLINE)
    desc = {}
    for name, sel in sets.items():
        path = cache / f"{name}.npz" if cache else None
        if path is not None and path.is_file():
            stored = np.load(path)
            desc[name] = [stored[str(k)] if str(k) in stored.files else None for k in range(len(sel))]
            continue
        found = _descriptors(sel, settings)
        desc[name] = [found[i.path] for i in sel]
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **{str(k): d for k, d in enumerate(desc[name]) if d is not None})
    return sets, desc


def set_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments every script reading the three sets through `_load` takes."""
    parser.add_argument("labels", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--cache", type=Path, help="folder for the sets' descriptors (decoded once)")
    return parser


def main() -> None:
    parser = set_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--heldout", action="store_true", help="score the test split (after the choice)")
    parser.add_argument("--diagnostics", action="store_true",
                        help="after the choice: per-edit AP on every set, in-sample fits, the fit's spectrum")
    args = parser.parse_args()
    started = time.perf_counter()
    sets, desc = _load(args.labels, args.second, args.cache)
    result = json.loads(args.json.read_text()) if args.json.is_file() else {}
    result.update({"sets": {name: len(sel) for name, sel in sets.items()}, "background": BACKGROUND,
                   "k": K, "beta": BETA})
    if args.diagnostics:
        data = {name: fitting_cells(sets[name], desc[name]) for name in FIT_FOR}
        block: dict = {"spectrum": {name: spectrum(d) for name, d in data.items()}}
        for name in ("train", "second", "test"):
            background = desc[BACKGROUND[name]]
            row = {"shipped": per_edit(sets[name], normalised_scores(sets[name], desc[name], background, None)[1])}
            for fitted_on in FIT_FOR:
                for shrinkage in (0.1, 1.0):
                    projection = fit(data[fitted_on], shrinkage, 8)
                    row[f"fit {fitted_on}, shrink {shrinkage}"] = per_edit(
                        sets[name], normalised_scores(sets[name], desc[name], background, projection)[1])
            block[name] = row
            print(name, json.dumps(row), flush=True)
        result["diagnostics"] = block
    elif not args.heldout:
        selection: dict = {}
        for name, fitted_on in FIT_FOR.items():
            data = fitting_cells(sets[fitted_on], desc[fitted_on])
            row = {"shipped": score(sets[name], desc[name], desc[BACKGROUND[name]], None)}
            for label, (shrinkage, dim) in SETTINGS.items():
                projection = fit(data, shrinkage, dim)
                row[label] = score(sets[name], desc[name], desc[BACKGROUND[name]], projection)
                print(name, label, row[label], flush=True)
            selection[name] = {"fitted_on": fitted_on, "micro_ap": row}
        gains = {label: {name: round(selection[name]["micro_ap"][label]["normalised"]
                                     - selection[name]["micro_ap"]["shipped"]["normalised"], 4) for name in FIT_FOR}
                 for label in SETTINGS}
        passing = [label for label, g in gains.items() if min(g.values()) >= 0.01]
        result["selection"] = selection
        result["normalised_gain_over_shipped"] = gains
        result["chosen"] = max(passing, key=lambda label: sum(gains[label].values())) if passing else None
    else:
        train, second = fitting_cells(sets["train"], desc["train"]), fitting_cells(sets["second"], desc["second"])
        data = (np.concatenate([train[0], second[0]]), np.concatenate([train[1], second[1] + train[1].max() + 1]))
        row = {"shipped": score(sets["test"], desc["test"], desc["train"], None)}
        for label, (shrinkage, dim) in SETTINGS.items():
            row[label] = score(sets["test"], desc["test"], desc["train"], fit(data, shrinkage, dim))
            print("test", label, row[label], flush=True)
        result["heldout_test"] = {"fitted_on": "train + second", "micro_ap": row}
    stage = "diagnostics" if args.diagnostics else "heldout" if args.heldout else "selection"
    result.setdefault("seconds", {})[stage] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
