"""The recommend ranking as a pure function, and fed from a real index."""

from __future__ import annotations

import numpy as np
import pytest

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet, UnknownVideoError
from vidstyle.indexing.recommend import Blend, rank, recommend


def test_near_duplicates_are_dropped_and_the_rest_blended() -> None:
    pool = [("copy", 0.99), ("a", 0.9), ("b", 0.8), ("c", 0.7)]
    content = np.array([0.97, 0.1, 0.6, 0.2])
    got = rank(pool, content, 10, Blend(0.7, 0.3, 0.9))
    assert [r.video_id for r in got] == ["b", "a", "c"]  # 0.74 > 0.66 > 0.55; "copy" is a near-duplicate
    assert got[0].score == pytest.approx(0.7 * 0.8 + 0.3 * 0.6)
    assert (got[0].style_score, got[0].content_score) == (0.8, pytest.approx(0.6))
    only_look = rank(pool, content, 2, Blend(1, 0, 1.0))
    assert [r.video_id for r in only_look] == ["copy", "a"]


def test_recommend_reads_the_index_and_leaves_the_query_out() -> None:
    rng = np.random.default_rng(0)
    style = rng.standard_normal((30, 8)).astype(np.float32)
    content = rng.standard_normal((30, 6)).astype(np.float32)
    content[1] = content[0]  # video 1 is a re-upload of video 0
    ids = [f"v{i}" for i in range(30)]
    index = IndexSet.from_vectors("m", ids, {"style": style, "content": content}, IndexSettings())
    got = recommend(index, "v0", 5, Blend(0.7, 0.3, 0.9, candidates=29))
    names = [r.video_id for r in got]
    assert len(names) == 5 and "v0" not in names and "v1" not in names
    assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
    with pytest.raises(UnknownVideoError):
        recommend(index, "nope", 5, Blend(0.7, 0.3, 0.9, 10))


def test_recommend_never_returns_a_copy_whatever_its_scores(tmp_path) -> None:
    """A real index where the copy is the query's best neighbour in style and content, and real descriptors
    (from encoded H.264 footage): the copy is dropped, with the reason, and other footage of the subject stays."""
    from tests.embedder.test_copies import _descriptors
    from vidstyle.evaluation.copy_benchmark import CopyItem, _Renderer
    from vidstyle.indexing.recommend import CopyLookups, recommend_explained

    renderer = _Renderer(tmp_path, seed=5)
    videos = {"original": CopyItem("t", "coffee", 0, "sepia"), "copy": CopyItem("t", "coffee", 0, "sepia", ("flip",)),
              "other-shot": CopyItem("t", "coffee", 1, "sepia")}
    stored = {vid: _descriptors(renderer.render(item)) for vid, item in videos.items()}
    rng = np.random.default_rng(1)
    ids = ["original", "copy", "other-shot", *(f"v{i}" for i in range(20))]
    style = rng.standard_normal((len(ids), 8)).astype(np.float32)
    content = rng.standard_normal((len(ids), 6)).astype(np.float32)
    q = content[0] / np.linalg.norm(content[0])
    side = content[1] - (content[1] @ q) * q
    style[1] = style[0] * 1.01  # the copy: the query's nearest in style, content cosine 0.85 (under 0.9)
    content[1] = 0.85 * q + np.sqrt(1 - 0.85**2) * side / np.linalg.norm(side)
    index = IndexSet.from_vectors("m", ids, {"style": style, "content": content}, IndexSettings())
    copies = CopyLookups(lambda vids: {v: stored.get(v) for v in vids})
    plain, checked = Blend(0.7, 0.3, 0.9, 22), Blend(0.7, 0.3, 0.9, 22, copy_threshold=0.6)

    without = recommend(index, "original", 5, plain, copies)
    assert without[0].video_id == "copy"  # today's content rule lets it through
    got = recommend_explained(index, "original", 5, checked, copies)
    assert "copy" not in [r.video_id for r in got.results] and len(got.results) == 5
    assert [(d.video_id, d.reason) for d in got.dropped] == [("copy", "copy")]
    assert got.dropped[0].copy_score >= 0.6
    every = recommend_explained(index, "original", 22, checked, copies)
    assert "other-shot" in [r.video_id for r in every.results]  # related footage stays reachable
    assert "copy" not in [r.video_id for r in recommend(index, "original", 22, checked, copies)]


def test_an_expanded_style_query_is_searched_as_computed_by_hand() -> None:
    from vidstyle.core.vectors import expand_query, unit
    from vidstyle.indexing.recommend import recommend_many

    rng = np.random.default_rng(3)
    style = unit(rng.standard_normal((40, 8))).astype(np.float32)
    content = rng.standard_normal((40, 6)).astype(np.float32)
    ids = [f"v{i}" for i in range(40)]
    index = IndexSet.from_vectors("m", ids, {"style": style, "content": content}, IndexSettings())
    blend = Blend(1.0, 0.0, 1.0, candidates=39, style_expansion=4)
    sims = style[1:] @ style[0]
    near = np.argsort(-sims)[:4]
    query = expand_query(style[0], style[1:][near], sims[near])
    by_hand = [ids[1:][i] for i in np.argsort(-(style[1:] @ query))[:10]]
    got = recommend(index, "v0", 10, blend)
    assert [r.video_id for r in got] == by_hand
    np.testing.assert_allclose([r.style_score for r in got], np.sort(style[1:] @ query)[::-1][:10], atol=1e-5)
    assert [r.video_id for r in got] != [r.video_id for r in recommend(index, "v0", 10, Blend(1.0, 0.0, 1.0, 39))]
    batched = recommend_many(index, ["v0", "v7"], 10, blend)
    assert [[r.video_id for r in one] for one in batched] == [
        [r.video_id for r in recommend(index, v, 10, blend)] for v in ("v0", "v7")]
