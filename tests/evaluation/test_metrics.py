"""Metric definitions on hand-made vectors whose answers can be worked out on paper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidstyle.evaluation.metrics import (
    TripletSims,
    average_precision,
    mean_average_precision,
    rankings,
    recall_at_k,
    relevance,
    retrieval_scores,
    triplet_summary,
)
from vidstyle.evaluation.triplets import read_labels, read_triplets, style_representations


def unit(deg: float) -> np.ndarray:
    r = np.deg2rad(deg)
    return np.array([np.cos(r), np.sin(r)])


def test_triplet_rules_and_ties() -> None:
    # C at 0°. Style: A at 10° (nearer than B at 50°) → right; content: B must be nearer than A → wrong.
    a, b, c = unit(10), unit(50), unit(0)
    sims = TripletSims.from_vectors(a[None], b[None], c[None])
    assert sims.style_right().tolist() == [True]
    assert sims.content_right().tolist() == [False]
    # A tie is wrong on both axes: the representation could not tell A from B.
    tie = TripletSims(np.array([0.5]), np.array([0.5]))
    assert not tie.style_right()[0] and not tie.content_right()[0]


def test_triplet_summary_counts() -> None:
    style = TripletSims(np.array([0.9, 0.8, 0.1, 0.5]), np.array([0.1, 0.9, 0.0, 0.5]))  # right, wrong, right, tie
    content = TripletSims(np.array([0.1, 0.1, 0.9, 0.2]), np.array([0.5, 0.7, 0.2, 0.3]))  # right, right, wrong, right
    s = triplet_summary(style, content)
    assert s == {"n": 4, "style_accuracy": 0.5, "content_accuracy": 0.75, "both_accuracy": 0.25}


def test_cosine_ignores_scale() -> None:
    sims = TripletSims.from_vectors(np.array([[10.0, 0.0]]), np.array([[0.0, 3.0]]), np.array([[2.0, 0.1]]))
    assert sims.ac[0] == pytest.approx(np.cos(np.arctan2(0.1, 2.0)))


def test_rankings_exclude_self_and_break_ties_by_order() -> None:
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    order, sims = rankings(x)
    assert order.shape == (4, 3)
    assert order[0].tolist() == [1, 3, 2]  # items 1 and 3 tie at 1.0: lower index first
    assert all(q not in row for q, row in enumerate(order.tolist()))
    assert sims[0].tolist() == pytest.approx([1.0, 1.0, 0.0])


def test_average_precision_by_hand() -> None:
    # relevant at ranks 1 and 3 of 4: AP = (1/1 + 2/3) / 2
    assert average_precision(np.array([1, 0, 1, 0], bool)) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(np.array([0, 0, 0, 1], bool)) == pytest.approx(1 / 4)
    assert average_precision(np.array([0, 0], bool)) == 0.0
    rel = np.array([[1, 0, 1, 0], [0, 0, 0, 1]], bool)
    assert mean_average_precision(rel) == pytest.approx(((1 + 2 / 3) / 2 + 1 / 4) / 2)


def test_recall_at_k_is_a_hit_rate() -> None:
    rel = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], bool)
    assert recall_at_k(rel, 1) == pytest.approx(1 / 3)
    assert recall_at_k(rel, 2) == pytest.approx(2 / 3)
    assert recall_at_k(rel, 3) == 1.0


def test_retrieval_scores_on_a_known_layout() -> None:
    # Two tight groups on the circle, plus a singleton label (no relevant set: left out of both metrics).
    x = np.stack([unit(0), unit(4), unit(10), unit(90), unit(95), unit(200)])
    labels = ["a", "a", "a", "b", "b", "c"]
    s = retrieval_scores(x, labels, k=1)
    assert s["queries"] == 5
    assert s["recall_at_k"] == 1.0 and s["map"] == pytest.approx(1.0)
    # Swap one label: item 2 (at 10°) now claims to be a 'b'. Its neighbours by distance: 4°, 0°, 90°, 95°, 200°.
    labels2 = ["a", "a", "b", "b", "b", "c"]
    order, _ = rankings(x)
    rel = relevance(order, labels2)
    assert rel.shape[0] == 5
    ap_item2 = average_precision(np.array([0, 0, 1, 1, 0], bool))  # (1/3 + 2/4) / 2
    assert ap_item2 == pytest.approx((1 / 3 + 2 / 4) / 2)
    s2 = retrieval_scores(x, labels2, k=1)
    # item 0: nearest 4° is 'a' → hit; item 1: nearest 0° → hit; item 2: nearest is 'a' → miss; items 3, 4: hit.
    assert s2["recall_at_k"] == pytest.approx(4 / 5)
    with pytest.raises(ValueError):
        retrieval_scores(x, labels, k=0)


def test_csv_readers_resolve_relative_paths_and_reject_bad_files(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,c,kind\nx.png,y.png,z.mp4,image\n/abs/p.png,q.png,r.png,\n")
    trips = read_triplets(tmp_path / "t.csv")
    assert trips[0].a == tmp_path / "x.png" and trips[0].kind == "image"
    assert trips[1].a == Path("/abs/p.png") and trips[1].kind == "unspecified"
    (tmp_path / "bad.csv").write_text("a,b\nx,y\n")
    with pytest.raises(ValueError, match="lacks column"):
        read_triplets(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="does not exist"):
        read_triplets(tmp_path / "missing.csv")
    (tmp_path / "l.csv").write_text("path,content_id,style_id\nv/a.mp4,cat,sepia\n")
    assert read_labels(tmp_path / "l.csv")[0].path == tmp_path / "v" / "a.mp4"
    assert style_representations({"content": 1, "style": 2, "style_stats": 3, "style_gram": 4}) == ["gram", "stats"]
