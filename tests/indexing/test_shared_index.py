"""Several processes serving one INDEX_DIR (`IndexSet.load(..., shared=True)`), on real FAISS and real files: the
index files memory-mapped and never rewritten by a write, each process's writes seen by the others, a compaction
by one taken in by the others, concurrent writers in real processes keeping one log, a torn record cut."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.catalogue_vectors import DIMS, N, rows, saved_index, top
from tests.support.index_writer import step_vectors
from vidstyle.core.settings import IndexSettings
from vidstyle.core.vectors import unit
from vidstyle.indexing import IndexSet, UnknownVideoError, writelog

SETTINGS = IndexSettings(nprobe=64)


def data_files(index_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(index_dir)) for p in index_dir.glob("data-*/*"))


def shared(index_dir: Path) -> IndexSet:
    return IndexSet.load(index_dir, SETTINGS, shared=True)


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "hnsw"])
def test_each_process_sees_the_others_writes_and_compactions(tmp_path: Path, kind: str) -> None:
    index_dir, names, vectors = saved_index(tmp_path, kind)
    files_before = data_files(index_dir)
    a, b = shared(index_dir), shared(index_dir)
    assert not b.sync()  # nothing new

    a.add(["new"], rows(vectors, 3))  # a copy of v3's vectors under another id
    assert b.sync()
    assert set(top(b, vectors["style"][3], k=2)) == {"v3", "new"}
    b.remove(["v7"])
    b.add(["v9"], rows(vectors, 11))  # replaced: now v11's vectors
    a.sync()
    for ix in (a, b):
        assert len(ix) == N
        assert "v7" not in ix and "v7" not in top(ix, vectors["style"][7], k=3)
        assert set(top(ix, vectors["content"][11], "content", k=2)) == {"v9", "v11"}
        np.testing.assert_allclose(ix.vector("new", "content"), vectors["content"][3], atol=1e-6)
    assert data_files(index_dir) == files_before  # no index file rewritten
    with pytest.raises(UnknownVideoError):  # b's delete is a's too
        a.remove(["v7"])

    a.add(["late"], rows(vectors, 6))  # b has not looked since
    a.save(index_dir)  # the compaction: loads, folds, saves in this process
    assert data_files(index_dir) != files_before
    assert len(writelog.segments(index_dir)) == 2  # the sealed segment goes one compaction late
    b.sync()  # never waits: b loads the new files in the background and reads the sealed segment meanwhile
    assert "late" in b
    b.add(["after"], rows(vectors, 5))  # b takes in the new files first, then logs past them
    a.sync()
    plain = IndexSet.load(index_dir, SETTINGS)  # what a fresh process reads
    b.refresh()
    for ix in (a, b, plain):
        assert len(ix) == N + 2
        assert set(top(ix, vectors["style"][5], k=2)) == {"v5", "after"}
        assert set(top(ix, vectors["style"][3], k=2)) == {"v3", "new"}
        assert "v7" not in ix and "late" in ix
    assert a.pending_writes() == b.pending_writes() == 1  # the write logged after the compaction
    b.save(index_dir)
    a.refresh()
    assert len(writelog.segments(index_dir)) == 2 and a.pending_writes() == 0
    assert len(IndexSet.load(index_dir, SETTINGS)) == N + 2
    a.close()
    b.close()


WRITER = """
import sys
from pathlib import Path
from tests.support.index_writer import step_vectors
from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet

index_dir, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
index = IndexSet.load(index_dir, IndexSettings(nprobe=64), shared=True)
for i in range(count):
    index.add([f"{name}-{i}"], step_vectors(i, {DIMS}))
    if i % 7 == 6:
        index.remove([f"{name}-{i - 3}"])
    if i % 15 == 14:
        index.save(index_dir)  # compactions race the other process's writes
print(len(index))
"""


@pytest.mark.slow
def test_concurrent_writers_in_two_processes_keep_one_log(tmp_path: Path) -> None:
    index_dir, _, _ = saved_index(tmp_path, "ivf_flat")
    count = 40
    script = WRITER.replace("{DIMS}", repr(DIMS))
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(index_dir), name, str(count)], stdout=subprocess.PIPE,
                         text=True, cwd=Path(__file__).parents[2])
        for name in ("a", "b")
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    index = IndexSet.load(index_dir, SETTINGS)
    removed = {f"{name}-{i - 3}" for name in ("a", "b") for i in range(count) if i % 7 == 6}
    expected = {f"{name}-{i}" for name in ("a", "b") for i in range(count)} - removed
    written = {v for v in index.video_ids() if "-" in v}
    assert written == expected  # every acknowledged write, once, whichever process made it
    assert len(index) == N + len(expected)
    for video in sorted(expected)[::9]:  # each stored vector is the one its writer logged
        step = int(video.split("-")[1])
        np.testing.assert_allclose(index.vector(video, "style"), unit(step_vectors(step, DIMS)["style"])[0], atol=1e-6)


def test_a_torn_record_of_a_crashed_writer_is_cut_by_the_next(tmp_path: Path) -> None:
    index_dir, _, vectors = saved_index(tmp_path)
    a = shared(index_dir)
    a.add(["first"], rows(vectors, 1))
    segment = writelog.segments(index_dir)[-1].path
    with open(segment, "ab") as fh:  # what a writer killed mid-append leaves
        fh.write(b"\x40\x00\x00\x00torn")
    b = shared(index_dir)  # a reader stops at the torn record
    assert "first" in b
    b.add(["second"], rows(vectors, 2))
    a.sync()
    assert "second" in a and "first" in a
    assert len(list(writelog.read(index_dir, a.manifest["log"]["id"], 0))) == 2
