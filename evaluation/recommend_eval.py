"""`vidstyle eval-recommend LABELS`: `recommend` measured as a ranking, and the copy check as a detector.

LABELS is a CSV like the one `make-benchmark --copies` writes (`evaluation.copy_benchmark`): path, content_id
(subject), style_id (look), footage_id (copies share it) and optionally split, edits, primary_edit. Every item is
a query against the other items of its split, ranked by `vidstyle.indexing.recommend.rank` exactly as the API
ranks (candidates: the `candidates` nearest in style, exact cosine), and scored per query at k:

- copy rate@k: the fraction of the k results that are copies of the query (same footage_id). Must be 0.
- style precision@k: the fraction that share the query's look (style_id): what recommend is for.
- subject repetition@k: the fraction that show the query's subject (content_id): less is more variety.
- related dropped: the query's other footage of its subject (same content_id, other footage_id) that the rule
  dropped; related content must stay reachable, so this should be 0.

Copy detection is scored over every pair of a split: micro-average precision of the copy score against "same
footage", beside the content cosine as a detector (today's rule thresholds it at `near_duplicate_content`).

Choices are made on the `train` split only: the copy threshold (the best F1 over training pairs), then the blend
among `BLEND_GRID` and the content threshold (`NEAR_DUPLICATE_GRID` and the configured one; 1.0: none) with the
best training ranking (copy rate first, then related footage kept, style precision, less subject repetition on ties).
`test` (held-out seed, looks and edit kinds) is then reported with those choices, beside today's rule (content
threshold, default blend) and the configured rule (`serve.*` blend, content threshold and copy threshold: what
the API does) in the same run. Without a split column, everything is `test` and the configured `serve.*` values
are the copy rule.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidstyle.core.settings import Settings
from vidstyle.core.vectors import expand_query, unit
from vidstyle.embedder.copies import CopyCheck, match
from vidstyle.embedder.copy_background import background_score, normalised
from vidstyle.embedder.copy_descriptor import describe
from vidstyle.evaluation.embedding import embed_files
from vidstyle.evaluation.errors import EvaluationError
from vidstyle.evaluation.metrics import average_precision
from vidstyle.evaluation.triplets import _read_csv, _resolve, _warn_failed
from vidstyle.indexing.recommend import DROP_COPY, Blend, rank_explained
from vidstyle.media.decode import DecodeError, decode_file

REQUIRED = ("path", "content_id", "style_id", "footage_id")
BLEND_GRID = ((0.7, 0.3), (0.85, 0.15), (1.0, 0.0), (1.0, -0.15), (1.0, -0.3), (1.0, -0.5), (1.0, -0.7),
              (1.0, -1.0))  # (style, content weight) tried on train
NEAR_DUPLICATE_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""Content thresholds tried on train (1.0: none). The content head spreads content scores (unrelated videos: median
about 0.05, copies 0.6-0.85, other shots of the subject 0.4-0.5), so the grid spans that range."""


@dataclass(frozen=True)
class Item:
    path: Path
    content_id: str
    style_id: str
    footage_id: str
    split: str
    primary_edit: str


@dataclass(frozen=True)
class Rule:
    """One way of ranking, named in the report: a `Blend` (the blend, the two drop rules, the candidates)."""

    name: str
    blend: Blend

    def as_dict(self) -> dict[str, float | int | str]:
        return {"name": self.name, **self.blend.as_dict()}


def read_items(path: Path) -> list[Item]:
    path = Path(path)
    rows = _read_csv(path, REQUIRED)
    return [Item(_resolve(path.parent, r.get("path"), f"{path} row {i + 2}"), r["content_id"], r["style_id"],
                 r["footage_id"], (r.get("split") or "test").strip() or "test", (r.get("primary_edit") or "").strip())
            for i, r in enumerate(rows)]


@dataclass
class SplitData:
    """One split's items with everything a rule needs: unit style/content vectors, all pair copy scores and each
    item's background score."""

    items: list[Item]
    style: np.ndarray
    content: np.ndarray
    copy: np.ndarray  # (n, n) raw copy score, NaN on the diagonal or where unknown
    background: np.ndarray | None = None  # (n,) bg(x) (`vidstyle.embedder.copy_background`), NaN where unknown

    def copy_for(self, background_weight: float) -> np.ndarray:
        """(n, n) copy scores as a rule with this `background_weight` sees them: the raw ones at 0, else normalised
        (`vidstyle.embedder.copy_background.normalised`; NaN where either background is unknown)."""
        if background_weight == 0:
            return self.copy
        if self.background is None:
            raise EvaluationError("normalised copy scores need the items' background scores")
        return normalised(self.copy, self.background[:, None], self.background[None, :], background_weight)

    def same(self, attr: str) -> np.ndarray:
        labels = np.array([getattr(i, attr) for i in self.items])
        return labels[:, None] == labels[None, :]


def _descriptors(items: Sequence[Item], settings: Settings) -> dict[Path, np.ndarray | None]:
    """Copy descriptors from the frames the embedder sees (same decode settings), as `embed` stores them."""
    d, out = settings.decode, {}
    for item in items:
        try:
            frames = decode_file(item.path, settings.model.input_size, d.max_frames, d.min_gap_s,
                                 max_file_mb=d.max_file_mb).frames
            out[item.path] = describe(frames)
        except DecodeError:
            out[item.path] = None
    return out


def load(labels: Path, settings: Settings, cache_dir: Path | None = None,
         progress: bool = False) -> dict[str, SplitData]:
    """Embed and describe every item once; per split, the data the rules are scored on."""
    items = list({i.path: i for i in read_items(labels)}.values())
    emb = embed_files([i.path for i in items], settings, cache_dir, progress=progress)
    failed = {p: e.error for p, e in emb.items() if not e.ok}
    _warn_failed(failed)
    items = [i for i in items if i.path not in failed]
    desc = _descriptors(items, settings)
    background = {path: np.nan if (score := background_score(d)) is None else score for path, d in desc.items()}
    out = {}
    for split in dict.fromkeys(i.split for i in items):
        sel = [i for i in items if i.split == split]
        if len(sel) < 2:
            raise EvaluationError(f"split {split!r} has {len(sel)} embedded item(s); it needs at least two")
        out[split] = SplitData(
            sel,
            unit(np.stack([emb[i.path].vectors["style"] for i in sel]).astype(np.float64)),
            unit(np.stack([emb[i.path].vectors["content"] for i in sel]).astype(np.float64)),
            copy_scores([desc[i.path] for i in sel]),
            np.array([background[i.path] for i in sel]),
        )
    return out


def copy_scores(descriptors: Sequence[np.ndarray | None], **options: Any) -> np.ndarray:
    """(n, n) copy scores of every pair (`vidstyle.embedder.copies.match`, with its keyword `options`: the
    benchmarks' earlier matchers); NaN on the diagonal or unknown."""
    n = len(descriptors)
    copy = np.full((n, n), np.nan)
    for a, b in itertools.combinations(range(n), 2):
        score = match(descriptors[a], descriptors[b], **options).score
        copy[a, b] = copy[b, a] = np.nan if score is None else score
    return copy


# ---------------------------------------------------------------- copy detection
def pair_scores(data: SplitData, background_weight: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                            np.ndarray]:
    """Over pairs i < j: (same footage, copy score (NaN unknown; `SplitData.copy_for`), content cosine, same
    subject)."""
    iu = np.triu_indices(len(data.items), 1)
    return (data.same("footage_id")[iu], data.copy_for(background_weight)[iu], (data.content @ data.content.T)[iu],
            data.same("content_id")[iu])


def micro_ap(positive: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of one ranking of all pairs by score (unknown scores rank last)."""
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    return average_precision(positive[order])


def best_f1_threshold(positive: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold (midway between two neighbouring scores) with the best F1 over these pairs."""
    s = np.nan_to_num(scores, nan=-np.inf)
    order = np.argsort(-s, kind="stable")
    hits = np.cumsum(positive[order])
    f1 = 2 * hits / (np.arange(1, len(s) + 1) + positive.sum())
    best = int(np.argmax(f1))
    below = s[order][best + 1] if best + 1 < len(s) else s[order][best] - 0.05
    return float((s[order][best] + max(below, -1.0)) / 2)


def detection(data: SplitData, copy_threshold: float, near_duplicate: float, background_weight: float = 0.0) -> dict:
    """Copy detection at `copy_threshold` over the scores a rule with `background_weight` uses; `copy_micro_ap` is
    theirs, `raw_copy_micro_ap` the raw score's, beside it."""
    same, copy, content, subject = pair_scores(data, background_weight)
    flagged = np.nan_to_num(copy, nan=-np.inf) >= copy_threshold
    other_footage = subject & ~same
    out = {
        "pairs": int(len(same)), "copy_pairs": int(same.sum()),
        "copy_micro_ap": micro_ap(same, copy),
        "raw_copy_micro_ap": micro_ap(same, data.copy[np.triu_indices(len(data.items), 1)]),
        "content_micro_ap": micro_ap(same, content),
        "copy_recall": float(flagged[same].mean()) if same.any() else 0.0,
        "copy_false_positive_rate": float(flagged[~same].mean()) if (~same).any() else 0.0,
        "other_footage_flagged": float(flagged[other_footage].mean()) if other_footage.any() else 0.0,
        "content_rule_recall": float((content > near_duplicate)[same].mean()) if same.any() else 0.0,
        "content_rule_other_footage_flagged": (float((content > near_duplicate)[other_footage].mean())
                                               if other_footage.any() else 0.0),
        "unknown_pairs": int(np.isnan(copy).sum()),
    }
    out["recall_by_edit"] = _recall_by_edit(data, copy_threshold, background_weight)
    return out


def _recall_by_edit(data: SplitData, copy_threshold: float, background_weight: float = 0.0) -> dict[str, float]:
    """Per primary edit kind: the fraction of its copies detected against their original."""
    scores = data.copy_for(background_weight)
    originals = {i.footage_id: n for n, i in enumerate(data.items) if not i.primary_edit}
    found: dict[str, list[bool]] = {}
    for n, item in enumerate(data.items):
        if item.primary_edit and item.footage_id in originals:
            score = scores[n, originals[item.footage_id]]
            found.setdefault(item.primary_edit, []).append(bool(score >= copy_threshold))
    return {edit: float(np.mean(v)) for edit, v in sorted(found.items())}


# ---------------------------------------------------------------- ranking
def expanded_queries(style: np.ndarray, n: int) -> np.ndarray:
    """(m, D) unit style rows → each as `recommend` expands its query over its `n` nearest other rows
    (`Blend.style_expansion`, `core.vectors.expand_query`), by exact cosine; n = 0: the rows as they are."""
    if n == 0:
        return style
    sims = style @ style.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, :n]
    return np.stack([expand_query(style[i], style[near], sims[i, near]) for i, near in enumerate(nearest)])


def rank_queries(data: SplitData, rule: Rule, k: int) -> list[dict]:
    """Each item as a query against the rest of its split, ranked by `rank_explained` under `rule` (the query's
    style vector expanded as the blend asks, `expanded_queries`)."""
    blend = rule.blend
    style_sims = expanded_queries(data.style, blend.style_expansion) @ data.style.T
    content_sims = data.content @ data.content.T
    same_footage, same_look, same_subject = data.same("footage_id"), data.same("style_id"), data.same("content_id")
    copy = data.copy_for(blend.copy_background_weight) if blend.checks_copies else data.copy
    rows = []
    for q, item in enumerate(data.items):
        others = np.array([j for j in np.argsort(-style_sims[q], kind="stable") if j != q])[: max(blend.candidates, k)]
        pool = [(str(j), float(style_sims[q, j])) for j in others]
        copy_row = copy[q]

        def check(j: str, row: np.ndarray = copy_row) -> CopyCheck:
            score = row[int(j)]
            return CopyCheck(None if np.isnan(score) else float(score), 0, False)

        ranking = rank_explained(pool, content_sims[q, others], k, blend, check)
        got = [int(r.video_id) for r in ranking.results]
        related = [j for j in range(len(data.items)) if same_subject[q, j] and not same_footage[q, j]]
        dropped = {int(d.video_id) for d in ranking.dropped}
        n = max(len(got), 1)
        rows.append({
            "query": str(item.path.name), "split": item.split,
            "copy_rate_at_k": sum(bool(same_footage[q, j]) for j in got) / n,
            "style_precision_at_k": sum(bool(same_look[q, j]) for j in got) / n,
            "subject_repetition_at_k": sum(bool(same_subject[q, j]) for j in got) / n,
            "results": len(got),
            "related_dropped": sum(j in dropped for j in related),
            "copies_dropped": sum(1 for d in ranking.dropped if d.reason == DROP_COPY),
        })
    return rows


def summarise(rows: Sequence[dict]) -> dict[str, float]:
    keys = ("copy_rate_at_k", "style_precision_at_k", "subject_repetition_at_k")
    out = {f"mean_{key}": float(np.mean([r[key] for r in rows])) for key in keys}
    out["queries_with_a_copy"] = int(sum(r["copy_rate_at_k"] > 0 for r in rows))
    out["max_copy_rate_at_k"] = float(max(r["copy_rate_at_k"] for r in rows))
    out["related_dropped"] = int(sum(r["related_dropped"] for r in rows))
    out["queries"] = len(rows)
    return out


def style_precision_ceiling(data: SplitData, k: int) -> float:
    """The best mean style precision@k any rule that drops copies could reach on this split: per query, the
    same-look items of other footage over the results it can have. Small splits hold few items of a look, so
    style precision is read against this, not against 1."""
    same_footage, same_look = data.same("footage_id"), data.same("style_id")
    eligible = ~same_footage
    return float(np.mean([min(k, int((same_look[q] & eligible[q]).sum())) / max(min(k, int(eligible[q].sum())), 1)
                          for q in range(len(data.items))]))


def choose(train: SplitData, k: int, near_duplicates: Sequence[float], candidates: int,
           copy_threshold: float | None = None, copy_background_weight: float = 0.0,
           style_expansion: int = 0) -> tuple[Rule, list[dict]]:
    """The copy threshold (best F1 on training pairs over the scores of `copy_background_weight`, unless given:
    the blend for a copy threshold chosen elsewhere), then the blend and content threshold (best training ranking:
    copy rate first, then related footage kept, style precision, less subject repetition); with every rule tried
    and its training summary, so the choice can be read."""
    if copy_threshold is None:
        same, copy, _, _ = pair_scores(train, copy_background_weight)
        copy_threshold = round(best_f1_threshold(same, copy), 3)
    threshold = copy_threshold
    best: tuple | None = None
    tried = []
    for near_duplicate in near_duplicates:
        for style_weight, content_weight in BLEND_GRID:
            rule = Rule("copy_check", Blend(style_weight, content_weight, near_duplicate, candidates, threshold,
                                            copy_background_weight, style_expansion))
            s = summarise(rank_queries(train, rule, k))
            tried.append({**rule.as_dict(), "train": s})
            key = (-s["mean_copy_rate_at_k"], -s["related_dropped"], s["mean_style_precision_at_k"],
                   -s["mean_subject_repetition_at_k"])
            if best is None or key > best[0]:
                best = (key, rule)
    assert best is not None
    return best[1], tried


def score_samples(data: SplitData, background_weight: float = 0.0) -> dict[str, list[float]]:
    """Copy scores (`SplitData.copy_for`) of the split's pairs in three groups, for the report's histograms."""
    same, copy, _, subject = pair_scores(data, background_weight)
    known = ~np.isnan(copy)
    groups = {"copies": same, "other footage, same subject": subject & ~same, "other": ~subject & ~same}
    return {name: copy[sel & known].round(4).tolist() for name, sel in groups.items()}


def evaluate_recommend(labels: Path, settings: Settings, k: int = 10, cache_dir: Path | None = None,
                       progress: bool = False, with_scores: bool = False) -> dict:
    """The `vidstyle eval-recommend --json` object (module docstring; docs/CONTRACT.md); `with_scores` adds
    `score_samples` (every pair's copy score, by group) for the report."""
    if k < 1:
        raise EvaluationError(f"-k must be at least 1, got {k}")
    splits = load(labels, settings, cache_dir, progress)
    serve = settings.serve
    configured_blend = Blend(serve.recommend_style_weight, serve.recommend_content_weight, serve.near_duplicate_content,
                             serve.recommend_candidates, serve.copy_threshold, serve.copy_background_weight,
                             serve.recommend_style_expansion)
    today = Rule("content_threshold", dataclasses.replace(configured_blend, copy_threshold=2.0,
                                                          copy_background_weight=0.0))
    configured = Rule("configured", configured_blend)
    if "train" in splits:
        near_duplicates = sorted({*NEAR_DUPLICATE_GRID, serve.near_duplicate_content})
        chosen, tried = choose(splits["train"], k, near_duplicates, serve.recommend_candidates,
                               copy_background_weight=serve.copy_background_weight,
                               style_expansion=serve.recommend_style_expansion)
        chosen_on, rules = "train", (today, configured, chosen)
    else:
        chosen, tried = dataclasses.replace(configured, name="copy_check"), []
        chosen_on, rules = "config", (today, chosen)
    out: dict = {"k": k, "chosen_on": chosen_on, "rules": {r.name: r.as_dict() for r in rules},
                 "tried": tried, "splits": {}, "queries": []}
    for name, data in splits.items():
        per_rule = {}
        for rule in rules:
            rows = rank_queries(data, rule, k)
            per_rule[rule.name] = summarise(rows)
            out["queries"] += [{**r, "rule": rule.name} for r in rows]
        out["splits"][name] = {"items": len(data.items), "rules": per_rule,
                               "style_precision_ceiling_at_k": style_precision_ceiling(data, k),
                               "detection": detection(data, chosen.blend.copy_threshold, today.blend.near_duplicate,
                                                      chosen.blend.copy_background_weight)}
        if with_scores:
            out.setdefault("score_samples", {})[name] = score_samples(data, chosen.blend.copy_background_weight)
    return out
