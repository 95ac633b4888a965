"""The recommend ranking as a pure function, and fed from a real index."""

from __future__ import annotations

import numpy as np
import pytest

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet, UnknownVideoError
from vidstyle.indexing.recommend import rank, recommend


def test_near_duplicates_are_dropped_and_the_rest_blended() -> None:
    pool = [("copy", 0.99), ("a", 0.9), ("b", 0.8), ("c", 0.7)]
    content = np.array([0.97, 0.1, 0.6, 0.2])
    got = rank(pool, content, k=10, style_weight=0.7, content_weight=0.3, near_duplicate=0.9)
    assert [r.video_id for r in got] == ["b", "a", "c"]  # 0.74 > 0.66 > 0.55; "copy" is a near-duplicate
    assert got[0].score == pytest.approx(0.7 * 0.8 + 0.3 * 0.6)
    assert (got[0].style_score, got[0].content_score) == (0.8, pytest.approx(0.6))
    only_look = rank(pool, content, k=2, style_weight=1, content_weight=0, near_duplicate=1.0)
    assert [r.video_id for r in only_look] == ["copy", "a"]


def test_recommend_reads_the_index_and_leaves_the_query_out() -> None:
    rng = np.random.default_rng(0)
    style = rng.standard_normal((30, 8)).astype(np.float32)
    content = rng.standard_normal((30, 6)).astype(np.float32)
    content[1] = content[0]  # video 1 is a re-upload of video 0
    ids = [f"v{i}" for i in range(30)]
    index = IndexSet.from_vectors("m", ids, {"style": style, "content": content}, IndexSettings())
    got = recommend(index, "v0", k=5, style_weight=0.7, content_weight=0.3, near_duplicate=0.9, candidates=29)
    names = [r.video_id for r in got]
    assert len(names) == 5 and "v0" not in names and "v1" not in names
    assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
    with pytest.raises(UnknownVideoError):
        recommend(index, "nope", 5, 0.7, 0.3, 0.9, 10)
