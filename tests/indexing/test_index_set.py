"""IndexSet behaviour on real FAISS: type choice, search semantics, ids, add/remove, building from EMB_DIR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidstyle.core.settings import IndexSettings
from vidstyle.embedder.dataset import DatasetError, write_vectors
from vidstyle.indexing import SPACES, IndexSet, UnknownVideoError
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors
from vidstyle.indexing.factory import MIN_VECTORS_TO_TRAIN, estimate_memory_bytes, plan_index, search_params
from vidstyle.indexing.gpu import GPU_MAX_K, GpuMirror, gpu_allowed, gpu_count
from vidstyle.indexing.space import SpaceIndex

DIMS = {"style": 48, "content": 32}


def make_vectors(n: int, seed: int = 0, dims: dict[str, int] = DIMS) -> dict[str, np.ndarray]:
    return {
        space: clustered_unit_vectors(n, dim, seed=seed + i, n_clusters=20)
        for i, (space, dim) in enumerate(dims.items())
    }


def ids(n: int, prefix: str = "v") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


def exact_top(base: np.ndarray, names: list[str], query: np.ndarray, k: int) -> list[tuple[str, float]]:
    scores = base @ (query / np.linalg.norm(query))
    order = np.argsort(-scores, kind="stable")[:k]
    return [(names[i], float(scores[i])) for i in order]


@pytest.fixture(scope="module")
def small() -> tuple[IndexSet, list[str], dict[str, np.ndarray]]:
    names, vectors = ids(500), make_vectors(500)
    return IndexSet.from_vectors("fp:test", names, vectors, IndexSettings(index_type="flat")), names, vectors


# ------------------------------------------------------------------------------------------ type choice
def test_plan_is_exact_while_within_latency_budget() -> None:
    plan = plan_index(50_000, 512, IndexSettings(), s_per_vector=50e-9)  # 2.5 ms estimated
    assert plan.kind == "flat"
    assert "2.50 ms" in plan.reason


def test_plan_goes_ivf_fastscan_with_reranking_when_exact_is_too_slow() -> None:
    plan = plan_index(1_000_000, 512, IndexSettings(), s_per_vector=230e-9)  # 230 ms exact
    assert plan.kind == "ivf_fastscan" and plan.description == "IVF1000,PQ512x4fs", plan.reason
    assert plan.nlist == 1000 and plan.pq_bytes == 256
    assert plan.est_latency_ms <= 5.0
    assert "exact search estimated 230.00 ms" in plan.reason and "re-ranked exactly" in plan.reason


def test_plan_goes_hnsw_when_fastscan_is_too_slow_too() -> None:
    settings = IndexSettings(latency_budget_ms=0.5)
    plan = plan_index(1_000_000, 128, settings, s_per_vector=100e-9)  # fast-scan ~0.9 ms, HNSW ~0.1 ms
    assert plan.kind == "hnsw"
    assert plan.hnsw_m == settings.hnsw_m
    assert "IVF fast-scan estimated" in plan.reason and "over budget" in plan.reason


def test_plan_goes_ivf_pq_when_even_fastscan_codes_exceed_memory() -> None:
    settings = IndexSettings(memory_budget_mb=512)  # 2M fast-scan codes of 256 B + ids take ~610 MB
    plan = plan_index(2_000_000, 512, settings, s_per_vector=100e-9)
    assert plan.kind == "ivf_pq"
    assert 512 % plan.pq_bytes == 0
    memory = estimate_memory_bytes("ivf_pq", 2_000_000, 512, nlist=plan.nlist, pq_bytes=plan.pq_bytes, hnsw_m=0)
    assert memory <= 512 * 2**20
    bigger = [m for m in range(plan.pq_bytes + 1, 513) if 512 % m == 0]
    assert all(
        estimate_memory_bytes("ivf_pq", 2_000_000, 512, nlist=plan.nlist, pq_bytes=m, hnsw_m=0) > 512 * 2**20
        for m in bigger
    ), "the largest code that fits the budget is chosen"


def test_plan_memory_mode_is_fastscan_with_reranking() -> None:
    """1M x 512 floats take 2 GB; with 1 GB, half a byte per dimension fits (~0.3 GB), re-ranked from disk."""
    plan = plan_index(1_000_000, 512, IndexSettings(memory_budget_mb=1024), s_per_vector=100e-9)
    assert plan.kind == "ivf_fastscan" and plan.est_memory_mb <= 600 and "re-ranked exactly" in plan.reason
    slow = plan_index(1_000_000, 512, IndexSettings(memory_budget_mb=1024), s_per_vector=1e-6)  # ~9 ms estimated
    assert slow.kind == "ivf_fastscan" and "no type meets the latency budget" in slow.reason  # HNSW does not fit
    assert estimate_memory_bytes("ivf_fastscan", 1_000_000, 512, nlist=1000, pq_bytes=256, hnsw_m=0) / 1e6 <= 600


def test_plan_odd_dimensions_take_ivf_flat() -> None:
    plan = plan_index(1_000_000, 511, IndexSettings(), s_per_vector=230e-9)
    assert plan.kind == "ivf_flat" and "odd dimension" in plan.reason
    with pytest.raises(ValueError, match="even dimension"):
        plan_index(50_000, 63, IndexSettings(index_type="ivf_fastscan"), 1e-9)


def test_plan_pq_code_size_also_respects_latency() -> None:
    """1M x 1920 in 900 MB (fast-scan needs ~1 GB): one byte per dimension of PQ would scan 1920 bytes per code."""
    plan = plan_index(1_000_000, 1920, IndexSettings(memory_budget_mb=900), s_per_vector=1.8e-6)
    assert plan.kind == "ivf_pq"
    assert plan.pq_bytes < 1920 and 1920 % plan.pq_bytes == 0
    assert plan.est_latency_ms <= 5.0


def test_plan_forced_type_and_too_few_vectors_to_train() -> None:
    assert plan_index(50_000, 64, IndexSettings(index_type="hnsw"), 1e-9).kind == "hnsw"
    small = plan_index(MIN_VECTORS_TO_TRAIN["ivf_pq"] - 1, 64, IndexSettings(index_type="ivf_pq"), 1e-9)
    assert small.kind == "flat" and "too few" in small.reason


def test_plan_refuses_pq_bytes_not_dividing_dim() -> None:
    with pytest.raises(ValueError, match="must divide"):
        plan_index(50_000, 64, IndexSettings(index_type="ivf_pq", pq_bytes=7), 1e-9)


def test_auto_build_records_choice_and_reason(small) -> None:
    index_set = IndexSet.from_vectors("fp", ids(300), make_vectors(300), IndexSettings())
    manifest = index_set.manifest
    for space in SPACES:
        assert manifest["index_type"][space] == "flat"
        assert "exact search" in manifest["spaces"][space]["reason"]
        assert manifest["dims"][space] == DIMS[space]


# ------------------------------------------------------------------------------------------------- GPU
def test_gpu_branches_without_gpu() -> None:
    assert gpu_count() == 0  # faiss-cpu here; the GPU path is checked on a lent device
    assert GpuMirror.create(object(), "flat", None, use_gpu=True) is None
    assert gpu_allowed(GPU_MAX_K) and not gpu_allowed(GPU_MAX_K + 1)


# ---------------------------------------------------------------------------------------------- search
def test_search_is_exact_cosine_best_first(small) -> None:
    index_set, names, vectors = small
    query = vectors["style"][7] + 0.1
    got = index_set.search(query, "style", 10)
    want = exact_top(vectors["style"], names, query, 10)
    assert [v for v, _ in got] == [v for v, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5, atol=1e-5)
    assert all(a[1] >= b[1] for a, b in zip(got, got[1:]))


def test_search_id_leaves_the_video_out(small) -> None:
    index_set, names, vectors = small
    for space in SPACES:
        got = index_set.search_id(names[3], space, 5)
        assert len(got) == 5 and names[3] not in [v for v, _ in got]
        want = exact_top(vectors[space], names, vectors[space][3], 6)[1:]
        assert [v for v, _ in got] == [v for v, _ in want]


def test_search_id_with_vectors_is_search_id_plus_the_stored_vectors(small) -> None:
    index_set, names, vectors = small
    got = index_set.search_id_with_vectors(names[7], "style", 6, "content")
    assert got.neighbours == index_set.search_id(names[7], "style", 6)
    np.testing.assert_allclose(got.query, index_set.vector(names[7], "content"))
    assert got.vectors.shape == (6, DIMS["content"])
    for (vid, _), row in zip(got.neighbours, got.vectors):
        np.testing.assert_allclose(row, index_set.vector(vid, "content"))
    with pytest.raises(UnknownVideoError):
        index_set.search_id_with_vectors("nope", "style", 3, "content")
    with pytest.raises(ValueError, match="unknown space"):
        index_set.search_id_with_vectors(names[7], "style", 3, "colour")


def test_exclude(small) -> None:
    index_set, names, vectors = small
    top = [v for v, _ in index_set.search(vectors["content"][0], "content", 5)]
    got = [v for v, _ in index_set.search(vectors["content"][0], "content", 5, exclude=top[:2] + ["not-there"])]
    assert got[:3] == top[2:] and not set(top[:2]) & set(got) and len(got) == 5


def test_k_larger_than_n(small) -> None:
    index_set, names, vectors = small
    assert len(index_set.search(vectors["style"][0], "style", 10_000)) == len(names)
    everyone = index_set.search_id(names[0], "style", 10_000)
    assert sorted(v for v, _ in everyone) == sorted(names[1:])


def test_bad_queries_are_refused(small) -> None:
    index_set, names, vectors = small
    with pytest.raises(UnknownVideoError, match="nope") as info:
        index_set.search_id("nope", "style", 3)
    assert isinstance(info.value, KeyError)
    with pytest.raises(ValueError, match="unknown space"):
        index_set.search(vectors["style"][0], "colour", 3)
    with pytest.raises(ValueError, match="expected"):
        index_set.search(vectors["content"][0], "style", 3)  # 32-d query for the 48-d index
    with pytest.raises(ValueError, match="k must be"):
        index_set.search(vectors["style"][0], "style", 0)
    with pytest.raises(ValueError, match="NaN"):
        index_set.search(np.full(DIMS["style"], np.nan), "style", 3)


# ------------------------------------------------------------------------------------------------- ids
def test_ids_round_trip(small) -> None:
    index_set, names, vectors = small
    assert index_set.video_ids() == names
    assert len(index_set) == len(names) and names[10] in index_set and "x" not in index_set
    assert index_set.dims == DIMS
    for space in SPACES:
        np.testing.assert_allclose(index_set.vector(names[10], space), vectors[space][10], atol=1e-6)
    with pytest.raises(UnknownVideoError):
        index_set.vector("x", "style")


# ------------------------------------------------------------------------------------------ add/remove
@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "ivf_fastscan", "hnsw"])
def test_add_replace_remove(kind: str) -> None:
    n = 2000
    names, vectors = ids(n), make_vectors(n)
    index_set = IndexSet.from_vectors("fp", names, vectors, IndexSettings(index_type=kind, nprobe=64))
    assert index_set.index_type("style") == kind
    extra = make_vectors(3, seed=99)

    index_set.add(["new0", "new1", "new2"], extra)
    assert len(index_set) == n + 3
    for i, name in enumerate(["new0", "new1", "new2"]):
        assert index_set.search(extra["style"][i], "style", 1)[0][0] == name
        assert index_set.search(extra["content"][i], "content", 1)[0][0] == name

    # Re-adding an existing id replaces its vectors.
    replacement = {space: extra[space][:1] for space in SPACES}
    index_set.add([names[5]], replacement)
    assert len(index_set) == n + 3
    np.testing.assert_allclose(index_set.vector(names[5], "style"), extra["style"][0], atol=1e-6)
    hits = index_set.search(vectors["style"][5], "style", 3)
    assert not any(v == names[5] and s > 0.999 for v, s in hits), "the old vector is gone"

    index_set.remove(["new1", names[7]])
    assert "new1" not in index_set and names[7] not in index_set and len(index_set) == n + 1
    for space in SPACES:
        assert "new1" not in [v for v, _ in index_set.search(extra[space][1], space, 20)]
        assert names[7] not in [v for v, _ in index_set.search(vectors[space][7], space, 20)]
    everyone = {v for v, _ in index_set.search(vectors["style"][0], "style", 10_000)}
    if kind not in ("ivf_flat", "ivf_fastscan"):  # IVF returns only what the probed lists hold
        assert everyone == set(index_set.video_ids())


def test_fastscan_removals_are_tombstones_until_a_rebuild() -> None:
    """Removed ids never come back, kept and later-added vectors find themselves, and past a quarter removed
    the rebuilt index holds only the live ones."""
    vectors, extra = clustered_unit_vectors(20_000, 32, seed=1), clustered_unit_vectors(300, 32, seed=2)
    space = SpaceIndex.build(vectors, np.arange(20_000), IndexSettings(index_type="ivf_fastscan", nprobe=256))
    removed = np.random.default_rng(0).choice(20_000, 3000, replace=False)
    space.remove(removed)
    space.add(extra, np.arange(50_000, 50_300))
    kept = np.setdiff1d(np.arange(20_000), removed)[:1000]
    assert (space.search(vectors[kept], 1)[1][:, 0] == kept).all()
    assert (space.search(extra, 1)[1][:, 0] == np.arange(50_000, 50_300)).all()
    found = space.search(vectors[removed[:200]], 10)[1]
    assert not np.isin(found, removed).any() and (found >= 0).all()  # k live ones still, past the tombstones
    assert not space.needs_compaction()
    with pytest.raises(ValueError, match="tombstones"):
        space.add(vectors[:1], removed[:1])  # a removed id stays taken until the rebuild
    space.remove(np.setdiff1d(np.arange(20_000), removed)[:3000])
    assert space.needs_compaction()
    fresh = space.compacted()
    assert fresh.ntotal == 14_300 and not fresh.dead
    assert (fresh.search(extra, 1)[1][:, 0] == np.arange(50_000, 50_300)).all()


@pytest.mark.parametrize("kind", ["ivf_sq8"])  # tombstone kinds refuse a removed id (fresh ids only)
def test_an_id_removed_and_added_again_is_re_ranked_with_its_new_vector(kind: str) -> None:
    """A compressed index re-ranks from its float vectors: an id stored again must not keep its old one."""
    vectors = clustered_unit_vectors(2000, 32, seed=3)
    space = SpaceIndex.build(vectors, np.arange(2000), IndexSettings(index_type=kind, nprobe=64))
    space.remove(np.array([10]))
    space.add(vectors[1500:1501], np.array([10]))  # id 10 now holds the vector of id 1500
    np.testing.assert_array_equal(space.reconstruct(10), vectors[1500])
    scores, labels = space.search(vectors[1500:1501], 2)
    assert set(labels[0].tolist()) == {10, 1500} and scores[0, 1] == pytest.approx(1.0, abs=1e-5)


def test_remove_unknown_removes_nothing(small) -> None:
    _, names, vectors = small
    index_set = IndexSet.from_vectors("fp", names, vectors, IndexSettings(index_type="flat"))
    with pytest.raises(UnknownVideoError, match="ghost"):
        index_set.remove([names[0], "ghost"])
    assert names[0] in index_set and len(index_set) == len(names)


def test_add_validation_changes_nothing(small) -> None:
    _, names, vectors = small
    index_set = IndexSet.from_vectors("fp", names[:50], {s: v[:50] for s, v in vectors.items()}, IndexSettings())
    good = make_vectors(2, seed=5)
    bad_cases = [
        (["a", "a"], good, "unique"),
        (["a", "b"], {"style": good["style"]}, "content"),
        (["a", "b"], {**good, "colour": good["style"]}, "unknown space"),
        (["a", "b"], {**good, "style": good["content"]}, "shape"),
        (["a"], good, "2 style vectors for 1"),
    ]
    for video_ids, vecs, message in bad_cases:
        with pytest.raises(ValueError, match=message):
            index_set.add(video_ids, vecs)
    assert len(index_set) == 50 and "a" not in index_set


def test_hnsw_tombstones_are_compacted() -> None:
    n = 1200
    names, vectors = ids(n), make_vectors(n)
    index_set = IndexSet.from_vectors("fp", names, vectors, IndexSettings(index_type="hnsw"))
    index_set.remove(names[:100])
    space = index_set._spaces["style"]
    assert len(space.hidden) == 100 and not space.dead and space.ntotal == n  # hidden until a compaction
    index_set.compact()
    assert len(space.dead) == 100 and not space.hidden and space.ntotal == n  # the graph keeps them, dead
    assert not {v for v, _ in index_set.search(vectors["style"][0], "style", n)} & set(names[:100])
    index_set.remove(names[100:400])  # 400 of 1200 tombstoned > 25%: rebuilt without them
    index_set.compact()
    space = index_set._spaces["style"]
    assert not space.dead and space.ntotal == n - 400
    got = index_set.search(vectors["style"][500], "style", 5)
    assert got[0][0] == names[500]
    assert {v for v, _ in index_set.search(vectors["style"][0], "style", n)} == set(names[400:])


# ---------------------------------------------------------------------------------------- from EMB_DIR
def test_from_embeddings_skips_failed_rows_and_temp_files(tmp_path: Path) -> None:
    names, vectors = ids(120), make_vectors(120)
    emb = tmp_path / "emb"
    write_vectors(emb, names, vectors, fingerprint="vgg19:abc", failed=["broken1", "broken2"], part_rows=50)
    (emb / ".part-99999.parquet.1234.tmp").write_bytes(b"half a file")
    index_set = IndexSet.from_embeddings(emb, IndexSettings())
    assert index_set.fingerprint == "vgg19:abc"
    assert sorted(index_set.video_ids()) == names
    assert "broken1" not in index_set
    assert index_set.dims == DIMS
    assert index_set.emb_dir == emb.resolve()
    assert len(index_set.search_id(names[0], "style", 200)) == len(names) - 1


def test_style_column_is_configurable(tmp_path: Path) -> None:
    names = ids(60)
    vectors = {**make_vectors(60), "style_cin": clustered_unit_vectors(60, 24, seed=7)}
    write_vectors(tmp_path, names, vectors)
    index_set = IndexSet.from_embeddings(tmp_path, IndexSettings(style_column="style_cin"))
    assert index_set.dims == {"style": 24, "content": DIMS["content"]}
    assert index_set.columns == {"style": "style_cin", "content": "content"}
    np.testing.assert_allclose(index_set.vector(names[2], "style"), vectors["style_cin"][2], atol=1e-6)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such embeddings directory"),
        ("empty", "no Parquet files"),
        ("all_failed", "no videos with status 'ok'"),
        ("mixed_models", "2 model fingerprints"),
        ("no_column", "lacks column"),
    ],
)
def test_unusable_embeddings_are_refused(tmp_path: Path, setup: str, message: str) -> None:
    emb = tmp_path / "emb"
    vectors = make_vectors(10)
    if setup == "empty":
        emb.mkdir()
    elif setup == "all_failed":
        write_vectors(emb, [], {s: v[:0] for s, v in vectors.items()}, failed=["a", "b"])
    elif setup == "mixed_models":
        write_vectors(emb / "a", ids(10, "a"), vectors, fingerprint="m1")
        write_vectors(emb / "b", ids(10, "b"), vectors, fingerprint="m2")
    elif setup == "no_column":
        write_vectors(emb, ids(10), {"content": vectors["content"]})
    with pytest.raises(DatasetError, match=message):
        IndexSet.from_embeddings(emb, IndexSettings())


@pytest.mark.parametrize("kind", ["ivf_fastscan", "ivf_flat"])
def test_a_fresh_ivf_index_probes_the_fewest_lists_that_reach_the_target_recall(kind: str) -> None:
    vectors = clustered_unit_vectors(20_000, 16, seed=3)  # 8 probes reach recall@10 ~0.94, 23 ~0.99
    ids = np.arange(len(vectors), dtype=np.int64) * 3
    exact = vectors @ vectors[:100].T

    def measured_recall(space: SpaceIndex) -> float:
        hits = 0
        for q in range(100):
            want = set((np.argsort(-exact[:, q], kind="stable")[1:11] * 3).tolist())
            got = [i for i in space.search(vectors[q : q + 1], 11)[1][0].tolist() if i != q * 3][:10]
            hits += len(want & set(got))
        return hits / 1000

    roomy = IndexSettings(index_type=kind, latency_budget_ms=200, target_recall=0.97)
    space = SpaceIndex.build(vectors, ids, roomy)
    assert "the fewest reaching the target recall 0.97" in space.plan.reason, space.plan.reason
    assert search_params(space.plan, roomy, 10).nprobe == space.plan.nprobe
    assert measured_recall(space) >= 0.95  # queries other than the 200 it was chosen on
    fewer = SpaceIndex.build(vectors, ids, roomy.model_copy(update={"target_recall": 0.5})).plan.nprobe
    more = SpaceIndex.build(vectors, ids, roomy.model_copy(update={"target_recall": 0.995})).plan.nprobe
    assert fewer < space.plan.nprobe < more
    assert search_params(space.plan, roomy.model_copy(update={"nprobe": 8}), 10).nprobe == 8  # config wins
    tight = IndexSettings(index_type=kind, latency_budget_ms=0.0001, target_recall=0.99)
    floor = SpaceIndex.build(vectors, ids, tight).plan
    assert floor.nprobe == 8 and "the least, over a quarter of the latency budget" in floor.reason, floor.reason
    fixed = IndexSettings(index_type=kind, nprobe=32, latency_budget_ms=200)
    assert SpaceIndex.build(vectors, ids, fixed).plan.nprobe == 32  # set in the config: not measured
