"""`make-benchmark --copies`: the two splits' looks are fixed lists, apart, from the right look families."""

from __future__ import annotations

from vidstyle.evaluation.copy_benchmark import HELDOUT_LOOKS, TRAIN_LOOKS, draw_items, splits
from vidstyle.media.looks import looks_in


def test_split_looks_are_fixed_disjoint_and_from_their_families() -> None:
    assert set(TRAIN_LOOKS) <= set(looks_in("train"))
    assert set(HELDOUT_LOOKS) <= set(looks_in("heldout"))
    assert not set(TRAIN_LOOKS) & set(HELDOUT_LOOKS)


def test_each_split_draws_only_its_own_looks_and_edits() -> None:
    train, test = splits(seed=4)
    for spec in (train, test):
        items = draw_items(spec, ["cat", "coffee", "sea"])
        assert {i.look for i in items} <= set(spec.looks)
        assert {e for i in items for e in i.edits} <= set(spec.edits)
        assert sum(not i.edits for i in items) == 6  # one original per shot
    assert draw_items(test, ["cat"]) == draw_items(splits(seed=4)[1], ["cat"])
