"""INDEX_DIR persistence: round trip, and refusal of corrupted, truncated or mismatched files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import SPACES, IndexLoadError, IndexSet, persistence
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors

DIMS = {"style": 40, "content": 24}


def build(n: int = 1500, kind: str = "flat", fingerprint: str = "vgg19:0123456789ab") -> tuple[IndexSet, dict]:
    vectors = {s: clustered_unit_vectors(n, d, seed=i, n_clusters=30) for i, (s, d) in enumerate(DIMS.items())}
    names = [f"vid-{i}" for i in range(n)]
    return IndexSet.from_vectors(fingerprint, names, vectors, IndexSettings(index_type=kind, nprobe=8)), vectors


def data_file(index_dir: Path, name: str) -> Path:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    entry = manifest["ids"] if name == "ids" else manifest["spaces"][name]["file"]
    return index_dir / entry["path"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, IndexSet, dict]:
    index_set, vectors = build()
    index_dir = tmp_path_factory.mktemp("index")
    index_set.save(index_dir)
    return index_dir, index_set, vectors


def fresh_copy(saved, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "index"
    shutil.copytree(saved[0], target)
    return target


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "hnsw", "ivf_sq8", "ivf_fastscan"])
def test_round_trip(tmp_path: Path, kind: str) -> None:
    index_set, vectors = build(kind=kind)
    index_set.remove(["vid-3", "vid-4"])  # HNSW: tombstones must survive the trip
    index_set.add(["late"], {s: v[:1] for s, v in vectors.items()})
    index_set.save(tmp_path)
    loaded = IndexSet.load(tmp_path, IndexSettings(nprobe=8), expect_fingerprint="vgg19:0123456789ab")

    assert loaded.fingerprint == index_set.fingerprint
    assert loaded.dims == index_set.dims == DIMS
    assert sorted(loaded.video_ids()) == sorted(index_set.video_ids())
    assert "vid-3" not in loaded and "late" in loaded
    for space in SPACES:
        assert loaded.index_type(space) == kind
        for probe in ("vid-0", "vid-77", "late"):
            assert loaded.search_id(probe, space, 10) == index_set.search_id(probe, space, 10)
        np.testing.assert_allclose(loaded.vector("vid-9", space), index_set.vector("vid-9", space))
    # New ids continue after the saved ones: adding after a load never collides.
    loaded.add(["after-load"], {s: v[5:6] for s, v in vectors.items()})
    assert loaded.search(vectors["style"][5], "style", 2)[0][1] > 0.999
    assert {v for v, _ in loaded.search(vectors["style"][5], "style", 2)} == {"vid-5", "after-load"}
    loaded.remove(["vid-5", "late"])  # removal works on a loaded index too (IVF: the persisted direct map)
    assert "vid-5" not in {v for v, _ in loaded.search(vectors["style"][5], "style", 5)}


def test_a_loaded_fastscan_index_encodes_as_fast_as_a_built_one(tmp_path: Path) -> None:
    """faiss does not save the PQ's transposed codebooks that make fast-scan encoding fast; the service adds to
    and folds into loaded indexes only, so a load must make them again (as the build does)."""
    index_set, vectors = build(kind="ivf_fastscan")
    index_set.save(tmp_path)
    for shared in (False, True):
        loaded = IndexSet.load(tmp_path, IndexSettings(nprobe=8), shared=shared)
        for space in SPACES:
            pq = loaded._spaces[space].index.pq
            assert pq.transposed_centroids.size() == pq.M * pq.ksub * pq.dsub, (space, shared)
        loaded.close()


@pytest.mark.parametrize("kind", ["ivf_fastscan", "hnsw"])
@pytest.mark.parametrize("keep", [0, 5])
def test_a_catalogue_emptied_or_nearly_saves_and_loads(tmp_path: Path, kind: str, keep: int) -> None:
    """Deleting (nearly) every video must not break the save: a rebuild without the tombstones has too few
    vectors left to train the index's plan (k-means needs at least one point per list)."""
    index_set, vectors = build(kind=kind)
    names = index_set.video_ids()
    index_set.remove(names[keep:])
    index_set.save(tmp_path)
    loaded = IndexSet.load(tmp_path, IndexSettings(nprobe=8))
    assert sorted(loaded.video_ids()) == sorted(names[:keep])
    for space in SPACES:
        found = [v for v, _ in loaded.search(vectors[space][0], space, 10)]
        assert set(found) <= set(names[:keep]) and (found[:1] == ["vid-0"] or not keep)
    loaded.add(["after"], {s: v[1:2] for s, v in vectors.items()})
    assert loaded.search(vectors["style"][1], "style", 1)[0][0] in {"after", "vid-1"}


def test_float_vectors_stay_right_through_deletes_adds_and_saves(tmp_path: Path) -> None:
    """Every live video's vector (read from the float vectors file, by a run of ids or a binary search) is its
    own after deletes of saved and of newly added videos, two saves and loads; deleted ones are never found."""
    index_set, vectors = build(kind="ivf_fastscan")
    extra = {s: clustered_unit_vectors(40, d, seed=9 + i) for i, (s, d) in enumerate(DIMS.items())}
    want = {f"vid-{i}": {s: v[i] for s, v in vectors.items()} for i in range(1500)}
    index_set.add([f"new-{i}" for i in range(40)], extra)
    want.update({f"new-{i}": {s: v[i] for s, v in extra.items()} for i in range(40)})
    gone = ["vid-0", "vid-1", "vid-700", "vid-1499", "new-0", "new-39"]
    index_set.remove(gone)
    for video in gone:
        del want[video]
    for round_ in range(2):
        index_set.save(tmp_path)
        index_set = IndexSet.load(tmp_path, IndexSettings(nprobe=8))
        assert sorted(index_set.video_ids()) == sorted(want)
        for space in SPACES:
            for video in ("vid-2", "vid-699", "vid-701", "vid-1498", "new-1", "new-38"):
                np.testing.assert_allclose(index_set.vector(video, space), want[video][space], atol=1e-6)
        for video in gone:
            source = vectors if video.startswith("vid") else extra
            row = source["style"][int(video.split("-")[1])]
            assert video not in [v for v, _ in index_set.search(row, "style", 5)]
        index_set.remove([f"vid-{100 + round_}"])  # the second save writes ids with more gaps
        del want[f"vid-{100 + round_}"]


def test_after_a_save_the_float_vectors_are_read_from_the_saved_file(tmp_path: Path) -> None:
    """A fast-scan index is chosen to keep 4-byte floats out of memory: after a save (here one that rebuilds it
    without its tombstones, which copies the live vectors) they must be the memory-mapped file again, not an
    in-memory copy or a dict of every vector added since the process started."""
    index_set, vectors = build(kind="ivf_fastscan")
    index_set.add(["late"], {s: v[:1] for s, v in vectors.items()})
    index_set.remove([f"vid-{i}" for i in range(1, 500)])  # past a quarter: the save rebuilds
    index_set.save(tmp_path)
    for space in SPACES:
        exact = index_set._spaces[space].exact
        assert exact is not None and isinstance(exact.rows.base, np.memmap) and not exact.added, space
        np.testing.assert_allclose(index_set.vector("late", space), vectors[space][0], atol=1e-6)
        np.testing.assert_allclose(index_set.vector("vid-900", space), vectors[space][900], atol=1e-6)
        assert {v for v, _ in index_set.search(vectors[space][0], space, 2)} == {"vid-0", "late"}
    index_set.remove(["vid-900"])
    index_set.add(["later"], {s: v[2:3] for s, v in vectors.items()})
    index_set.save(tmp_path)
    assert "vid-900" not in [v for v, _ in index_set.search(vectors["style"][900], "style", 5)]
    np.testing.assert_allclose(index_set.vector("later", "content"), vectors["content"][2], atol=1e-6)


def test_manifest_contents(saved) -> None:
    index_dir, index_set, _ = saved
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["fingerprint"] == "vgg19:0123456789ab"
    assert manifest["count"] == len(index_set) == 1500
    assert manifest["dims"] == DIMS
    assert manifest["faiss_version"]
    assert manifest["created_at"] and manifest["saved_at"]
    for space in SPACES:
        entry = manifest["spaces"][space]
        assert entry["index_type"] == "flat" and entry["reason"]
        assert len(entry["file"]["sha256"]) == 64 and entry["file"]["bytes"] > 0
    assert index_set.manifest["spaces"]["style"]["file"] == manifest["spaces"]["style"]["file"]


def test_save_replaces_previous_version_and_cleans_up(saved, tmp_path: Path) -> None:
    index_dir = fresh_copy(saved, tmp_path)
    index_set = IndexSet.load(index_dir, IndexSettings())
    (index_dir / ".manifest.json.deadbeef.tmp").write_text("{ half")  # a crashed writer's leftover
    index_set.remove(["vid-1"])
    index_set.save(index_dir)
    assert len(list(index_dir.glob("data-*"))) == 1
    assert not list(index_dir.glob(".*.tmp"))
    assert "vid-1" not in IndexSet.load(index_dir, IndexSettings())


def test_crash_before_manifest_keeps_the_old_index(saved, tmp_path: Path, monkeypatch) -> None:
    index_dir = fresh_copy(saved, tmp_path)
    index_set = IndexSet.load(index_dir, IndexSettings())
    index_set.remove(["vid-1", "vid-2"])

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(persistence, "atomic_write_bytes", crash)
    with pytest.raises(OSError, match="simulated"):
        index_set.save(index_dir)
    monkeypatch.undo()
    assert len(list(index_dir.glob("data-*"))) == 2  # the new files were written, but not published
    old = IndexSet.load(index_dir, IndexSettings())
    assert len(old) == 1500 and "vid-1" in old
    # The next save removes the orphan the crashed one left, and keeps nothing but its own files.
    published = {p.name for p in index_dir.glob("data-*")}
    old.save(index_dir)
    after = {p.name for p in index_dir.glob("data-*")}
    assert len(after) == 1 and not after & published


def test_a_save_removes_orphans_but_keeps_what_the_manifest_names(saved, tmp_path: Path, monkeypatch) -> None:
    """An orphan is removed at the start of the next save, before its own files are written (so a save that
    then fails leaves no more than one folder beside the published one)."""
    index_dir = fresh_copy(saved, tmp_path)
    (index_dir / "data-19990101T000000-deadbeef").mkdir()
    (index_dir / "data-19990101T000000-deadbeef" / "style.faiss").write_bytes(b"x" * 1000)
    index_set = IndexSet.load(index_dir, IndexSettings())
    monkeypatch.setattr(persistence, "atomic_write_bytes", lambda *a, **k: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError):
        index_set.save(index_dir)
    monkeypatch.undo()
    names = {p.name for p in index_dir.glob("data-*")}
    assert "data-19990101T000000-deadbeef" not in names and len(names) == 2
    assert len(IndexSet.load(index_dir, IndexSettings())) == 1500


@pytest.mark.parametrize("target", ["style", "content", "ids"])
def test_corrupted_file_is_refused(saved, tmp_path: Path, target: str) -> None:
    index_dir = fresh_copy(saved, tmp_path)
    path = data_file(index_dir, target)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match="corrupted"):
        IndexSet.load(index_dir, IndexSettings())


def test_truncated_file_is_refused(saved, tmp_path: Path) -> None:
    index_dir = fresh_copy(saved, tmp_path)
    path = data_file(index_dir, "style")
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 3)
    with pytest.raises(IndexLoadError, match="truncated"):
        IndexSet.load(index_dir, IndexSettings())


def test_missing_file_and_manifest_are_refused(saved, tmp_path: Path) -> None:
    index_dir = fresh_copy(saved, tmp_path)
    data_file(index_dir, "content").unlink()
    with pytest.raises(IndexLoadError, match="missing"):
        IndexSet.load(index_dir, IndexSettings())
    (index_dir / "manifest.json").write_text("{ not json")
    with pytest.raises(IndexLoadError, match="unreadable manifest"):
        IndexSet.load(index_dir, IndexSettings())
    (index_dir / "manifest.json").unlink()
    with pytest.raises(IndexLoadError, match="not an index directory"):
        IndexSet.load(index_dir, IndexSettings())


def test_fingerprint_mismatch_is_refused(saved) -> None:
    index_dir = saved[0]
    with pytest.raises(IndexLoadError, match="vgg19:0123456789ab.*efficientnet_lite0:ffff"):
        IndexSet.load(index_dir, IndexSettings(), expect_fingerprint="efficientnet_lite0:ffff")
    assert IndexSet.load(index_dir, IndexSettings(), expect_fingerprint="vgg19:0123456789ab")


def test_dimension_mismatch_is_refused(saved, tmp_path: Path) -> None:
    index_dir = fresh_copy(saved, tmp_path)
    manifest_path = index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["dims"]["style"] = 1920
    manifest["spaces"]["style"]["dims"] = 1920
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError, match="dimension mismatch in the style index.*40.*1920"):
        IndexSet.load(index_dir, IndexSettings())


def test_swapped_index_files_are_refused(saved, tmp_path: Path) -> None:
    """Files of the right format but the wrong space: the checksums no longer match."""
    index_dir = fresh_copy(saved, tmp_path)
    style, content = data_file(index_dir, "style"), data_file(index_dir, "content")
    style_bytes = style.read_bytes()
    style.write_bytes(content.read_bytes())
    content.write_bytes(style_bytes)
    with pytest.raises(IndexLoadError):
        IndexSet.load(index_dir, IndexSettings())


def test_memory_mode_reads_float_vectors_from_a_checked_memory_map(tmp_path: Path) -> None:
    index_set, vectors = build(kind="ivf_sq8")
    index_set.save(tmp_path)
    loaded = IndexSet.load(tmp_path, IndexSettings(nprobe=8))
    space = loaded._spaces["style"]
    assert isinstance(space.exact.rows.base, np.memmap)  # a view of the file: paged in on demand, not read in
    np.testing.assert_allclose(loaded.vector("vid-9", "style"), vectors["style"][9], atol=1e-6)  # exact, not SQ8
    assert loaded.search(vectors["style"][9], "style", 1)[0] == ("vid-9", pytest.approx(1.0, abs=1e-5))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    path = tmp_path / manifest["spaces"]["style"]["exact_vectors"]["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match="style float vectors.*corrupted"):
        IndexSet.load(tmp_path, IndexSettings())
