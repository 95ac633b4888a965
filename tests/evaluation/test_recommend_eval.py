"""`eval-recommend`'s scoring on a split the test lays out: copies dropped, the ceiling of style precision, and
choices made from training pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidstyle.core.vectors import unit
from vidstyle.evaluation.recommend_eval import (
    BLEND_GRID,
    Item,
    Rule,
    SplitData,
    choose,
    expanded_queries,
    rank_queries,
    style_precision_ceiling,
    summarise,
)
from vidstyle.indexing.recommend import Blend

# name: (subject, look, footage); "a2" is a copy of "a" in the same look, "b" another shot of a's subject.
LAYOUT = {"a": ("cat", "x", "f1"), "a2": ("cat", "x", "f1"), "b": ("cat", "x", "f2"), "c": ("sea", "x", "f3"),
          "d": ("sea", "y", "f4"), "e": ("coins", "y", "f5")}


@pytest.fixture()
def split() -> SplitData:
    rng = np.random.default_rng(0)
    items = [Item(Path(f"{n}.mp4"), s, lk, f, "train", "look" if n == "a2" else "") for n, (s, lk, f) in LAYOUT.items()]
    looks = {lk: rng.normal(size=16) for lk in "xy"}
    subjects = {s: rng.normal(size=16) for s in ("cat", "sea", "coins")}
    style = unit(np.stack([looks[i.style_id] + 0.3 * rng.normal(size=16) for i in items]))
    content = unit(np.stack([subjects[i.content_id] + 0.3 * rng.normal(size=16) for i in items]))
    n = len(items)
    copy = rng.uniform(0.05, 0.3, (n, n))
    copy[0, 1] = 0.9
    copy = np.triu(copy, 1) + np.triu(copy, 1).T
    np.fill_diagonal(copy, np.nan)
    return SplitData(items, style, content, copy)


def test_the_copy_check_drops_the_copy_that_plain_blending_returns(split: SplitData) -> None:
    plain = Rule("plain", Blend(0.7, 0.3, 2.0))
    checked = Rule("copy_check", Blend(0.7, 0.3, 2.0, copy_threshold=0.5))
    assert summarise(rank_queries(split, plain, 3))["queries_with_a_copy"] == 2  # a finds a2 and a2 finds a
    rows = rank_queries(split, checked, 3)
    assert summarise(rows)["queries_with_a_copy"] == 0
    assert [r["copies_dropped"] for r in rows[:2]] == [1, 1] and rows[0]["related_dropped"] == 0


def test_style_precision_ceiling_counts_same_look_items_of_other_footage(split: SplitData) -> None:
    # k = 2: a, a2 have b and c (look x, other footage) -> 1; b, c have two look-x items -> 1; d has e only -> 1/2;
    # e has d only -> 1/2.
    assert style_precision_ceiling(split, 2) == pytest.approx((4 * 1 + 2 * 0.5) / 6)
    # k = 5: a has b, c of its 4 eligible items -> 2/4; b and c 3/5; d and e 1/5.
    assert style_precision_ceiling(split, 5) == pytest.approx((2 * 0.5 + 2 * 0.6 + 2 * 0.2) / 6)


def test_choose_puts_the_copy_threshold_between_copies_and_the_rest(split: SplitData) -> None:
    rule, tried = choose(split, 3, (0.9, 1.0), 100)
    assert 0.3 < rule.blend.copy_threshold < 0.9
    assert len(tried) == 2 * len(BLEND_GRID)
    assert rule.as_dict() in [{k: v for k, v in t.items() if k != "train"} for t in tried]
    assert summarise(rank_queries(split, rule, 3))["mean_copy_rate_at_k"] == 0


def test_choose_keeps_a_given_copy_threshold_and_picks_the_blend_for_it(split: SplitData) -> None:
    # The copy check at 0.95 misses the copy (0.9): only the blend and the content threshold can keep it out.
    rule, tried = choose(split, 3, (0.5, 1.0), 100, copy_threshold=0.95)
    assert rule.blend.copy_threshold == 0.95 and {t["copy_threshold"] for t in tried} == {0.95}
    best = min(t["train"]["mean_copy_rate_at_k"] for t in tried)
    assert summarise(rank_queries(split, rule, 3))["mean_copy_rate_at_k"] == best


def test_an_expanded_style_query_finds_the_look_its_neighbours_share() -> None:
    # Unit style vectors at these angles: the query's nearest (z, 30 degrees) is in another look; its three nearest
    # (z, m, n1) lean to the side of its own look, so the expanded query's nearest is m.
    angles = {"q": 0, "z": 30, "m": -35, "n1": -40, "n2": -42}
    looks = {"q": "L", "z": "Z", "m": "L", "n1": "L", "n2": "L"}
    items = [Item(Path(f"{n}.mp4"), n, looks[n], n, "test", "") for n in angles]
    style = np.array([[np.cos(np.radians(a)), np.sin(np.radians(a))] for a in angles.values()])
    n = len(items)
    data = SplitData(items, style, np.eye(n), np.full((n, n), np.nan))
    plain = rank_queries(data, Rule("plain", Blend(1.0, 0.0, 2.0)), 1)
    expanded = rank_queries(data, Rule("expanded", Blend(1.0, 0.0, 2.0, style_expansion=3)), 1)
    assert plain[0]["style_precision_at_k"] == 0 and expanded[0]["style_precision_at_k"] == 1
    near = np.argsort(-(style[1:] @ style[0]))[:3] + 1
    by_hand = unit(style[0] + ((style[near] @ style[0]) ** 3) @ style[near])
    np.testing.assert_allclose(expanded_queries(style, 3)[0], by_hand)
    np.testing.assert_array_equal(expanded_queries(style, 0), style)
