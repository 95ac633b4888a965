"""Can the training families choose a vector for the held-out ones? Every candidate measured, side by side.

Reads the leave-one-family-out (LOFO) runs committed in bench/, of `bench/style_head_lofo.py` (style) and
`bench/quality_content.py` (content). Each holds, per candidate, its accuracy on every training family left out and
on the held-out benchmarks of the same run. This asks how the protocol's selection signal, the LOFO mean over the
six training families, ranks the candidates against their held-out accuracy (pooled over the run's held-out seeds):
Spearman's rank correlation over all candidates of one set of held-out seeds, per left-out family, and for content
also against three-panel accuracy alone. A selection rule can only find a better held-out vector if that
correlation is positive. Report only: nothing here chooses anything, and no new run is made.

Usage:

    python bench/selection_meta.py [--json bench/selection_meta.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
RUNS = {"style": ("style_light_lofo", "style_gate_lofo", "style_composed_lofo", "style_deep_lofo", "style_conc_lofo"),
        "content": ("quality_content_light", "quality_content_composed")}
BASELINES = ("rgb", "stats", "texture", "hand", "thumbnail")  # hand-built vectors beside the heads
GROUPS = {"style": ("all",), "content": ("all", "kind:three_panel")}


def _pooled(heldout: dict, name: str, group: str = "all") -> float | None:
    """Held-out accuracy of `name` on `group` pooled over the run's seeds (None where a seed lacks it)."""
    scores = [seed[group].get(name) for seed in heldout.values()]
    if any(s is None for s in scores):
        return None
    return sum(a * n for a, n in scores) / sum(n for _, n in scores)


def candidates(axis: str) -> list[dict]:
    """One row per (candidate, held-out seeds): LOFO mean, per-family LOFO, pooled held-out accuracy per group."""
    rows: dict[tuple[str, str], dict] = {}
    for run in RUNS[axis]:
        d = json.loads((HERE / f"{run}.json").read_text())
        families = list(d["lofo"])
        seeds = ",".join(s.split("-")[-1] for s in d["heldout"])
        for name in set.intersection(*(set(d["lofo"][f]) for f in families)):
            held = {g: _pooled(d["heldout"], name, g) for g in GROUPS[axis]}
            key = (name.replace("current", "shipped"), seeds)  # the shipped recipe's two names
            if None in held.values() or key in rows:
                continue
            per_family = {f: d["lofo"][f][name][0] for f in families}
            rows[key] = {"candidate": key[0], "heldout_seeds": seeds, "run": run,
                         "heldout": {g: round(v, 4) for g, v in held.items()},
                         "lofo_mean": round(float(np.mean(list(per_family.values()))), 4),
                         "lofo": {f: round(v, 4) for f, v in per_family.items()}}
    return sorted(rows.values(), key=lambda r: (r["heldout_seeds"], -r["lofo_mean"]))


def _rho(xs: list[float], ys: list[float]) -> dict:
    r = spearmanr(xs, ys)
    return {"rho": round(float(r[0]), 3), "p": round(float(r[1]), 4), "n": len(xs)}


def correlations(rows: list[dict], group: str = "all") -> dict:
    """Per set of held-out seeds: LOFO mean vs held-out (`group`) over every candidate and over the heads alone,
    and each left-out family's accuracy vs held-out over the heads."""
    out = {}
    for seeds in sorted({r["heldout_seeds"] for r in rows}):
        sel = [r for r in rows if r["heldout_seeds"] == seeds]
        heads = [r for r in sel if r["candidate"] not in BASELINES]
        out[seeds] = {
            "all": _rho([r["lofo_mean"] for r in sel], [r["heldout"][group] for r in sel]),
            "heads": _rho([r["lofo_mean"] for r in heads], [r["heldout"][group] for r in heads]),
            "by_family": {f: _rho([r["lofo"][f] for r in heads], [r["heldout"][group] for r in heads])
                          for f in heads[0]["lofo"]},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the rows and correlations here")
    args = parser.parse_args()
    result: dict = {"runs": RUNS}
    for axis in RUNS:
        rows = candidates(axis)
        result[axis] = {"correlations": {g: correlations(rows, g) for g in GROUPS[axis]}, "candidates": rows}
        for group, by_seeds in result[axis]["correlations"].items():
            for seeds, c in by_seeds.items():
                families = ", ".join(f"{f} {v['rho']:+.2f}" for f, v in c["by_family"].items())
                print(f"{axis}, held-out {group}, seeds {seeds}: LOFO mean vs held-out, Spearman "
                      f"{c['all']['rho']:+.2f} over {c['all']['n']} candidates (p {c['all']['p']}), "
                      f"{c['heads']['rho']:+.2f} over the {c['heads']['n']} heads (p {c['heads']['p']}); "
                      f"per left-out family: {families}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
