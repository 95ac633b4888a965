"""The index's write path on real FAISS and real files: writes visible at once and replayed from the write-ahead
log, compaction equal to a rebuild from the same rows, kill -9 at random points, one writer per INDEX_DIR."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.catalogue_vectors import DIMS, N, catalogue, rows, saved_index, top
from tests.support.write_checks import apply_step, assert_each_stored_once, same_vectors
from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import SPACES, IndexLoadError, IndexSet, writelog
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "ivf_fastscan", "hnsw"])
def test_writes_are_visible_at_once_and_survive_a_reopen(tmp_path: Path, kind: str) -> None:
    index_dir, names, vectors = saved_index(tmp_path, kind)
    files_before = sorted(p.name for p in index_dir.glob("data-*/*"))
    index = IndexSet.load(index_dir, IndexSettings(nprobe=64), writable=True)
    index.add(["new"], rows(vectors, 3))  # a copy of v3's vectors under another id
    index.remove(["v7"])
    index.add(["v9"], rows(vectors, 11))  # replaced: now v11's vectors
    index.remove(["new"])
    index.add(["new"], rows(vectors, 5))  # re-added after its delete
    index.add(["v7"], rows(vectors, 7))  # and a main-index video re-added after its delete

    def check(ix: IndexSet) -> None:
        assert len(ix) == N + 1
        assert set(top(ix, vectors["style"][5], k=2)) == {"v5", "new"}
        assert set(top(ix, vectors["content"][11], "content", k=2)) == {"v9", "v11"}
        assert "v9" not in top(ix, vectors["style"][9], k=5)
        assert top(ix, vectors["style"][7]) == ["v7"]
        np.testing.assert_allclose(ix.vector("new", "content"), vectors["content"][5], atol=1e-6)
        assert [v for v, _ in ix.search_id("new", "style", 1)] == ["v5"]

    check(index)
    assert sorted(p.name for p in index_dir.glob("data-*/*")) == files_before  # no index file rewritten
    check(IndexSet.load(index_dir, IndexSettings(nprobe=64)))  # a reader replays the log
    index.save(index_dir)  # the compaction
    assert index.pending_writes() == 0
    check(index)
    reopened = IndexSet.load(index_dir, IndexSettings(nprobe=64))
    check(reopened)
    assert reopened.pending_writes() == 0  # everything folded into the files; the log past them is empty
    assert len(writelog.segments(index_dir)) == 1


def test_compaction_equals_a_rebuild_from_the_same_rows(tmp_path: Path) -> None:
    index_dir, names, vectors = saved_index(tmp_path)
    index = IndexSet.load(index_dir, IndexSettings(), writable=True)
    extra_names, extra = catalogue(150, seed=7)
    state = {n: {s: vectors[s][i] for s in SPACES} for i, n in enumerate(names)}
    rng = random.Random(0)
    for i, name in enumerate(extra_names):
        new = f"x{name}"
        index.add([new], rows(extra, i))
        state[new] = {s: extra[s][i] for s in SPACES}
        victim = rng.choice(sorted(state))
        index.remove([victim])
        del state[victim]
    index.save(index_dir)
    compacted = IndexSet.load(index_dir, IndexSettings())
    final = sorted(state)
    rebuilt = IndexSet.from_vectors(
        "fp", final, {s: np.stack([state[n][s] for n in final]) for s in SPACES}, IndexSettings(index_type="flat")
    )
    assert sorted(compacted.video_ids()) == final
    queries = {s: clustered_unit_vectors(20, d, seed=42, n_clusters=20) for s, d in DIMS.items()}
    for space in SPACES:
        for q in queries[space]:
            got, want = compacted.search(q, space, 10), rebuilt.search(q, space, 10)
            assert [v for v, _ in got] == [v for v, _ in want]
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)


def test_a_torn_last_record_is_cut_and_a_damaged_sealed_segment_refused(tmp_path: Path) -> None:
    index_dir, _, vectors = saved_index(tmp_path)
    index = IndexSet.load(index_dir, IndexSettings(), writable=True)
    index.add(["a"], rows(vectors, 1))
    index.add(["b"], rows(vectors, 2))
    index.close()
    (segment,) = writelog.segments(index_dir)
    data = segment.path.read_bytes()
    segment.path.write_bytes(data[:-7])  # a crash in the middle of appending "b"
    reopened = IndexSet.load(index_dir, IndexSettings(), writable=True)
    assert "a" in reopened and "b" not in reopened  # "b" was never acknowledged
    reopened.add(["c"], rows(vectors, 3))  # appended after the cut, not after the torn bytes
    reopened.close()
    assert {"a", "c"} <= set(IndexSet.load(index_dir, IndexSettings()).video_ids())

    # A sealed segment (a later one exists) damaged in the middle: acknowledged writes would be lost.
    sealed = writelog.segments(index_dir)[0].path
    later = index_dir / sealed.name.replace(sealed.name.rsplit("-", 1)[1], f"{10**6:012d}.log")
    later.write_bytes(b"")
    sealed.write_bytes(sealed.read_bytes()[:-7])
    with pytest.raises(IndexLoadError, match="damaged write-ahead log"):
        IndexSet.load(index_dir, IndexSettings())


def test_one_writer_per_index_dir_and_a_rebuild_in_place_drops_the_old_log(tmp_path: Path) -> None:
    index_dir, names, vectors = saved_index(tmp_path)
    writer = IndexSet.load(index_dir, IndexSettings(), writable=True)
    with pytest.raises(IndexLoadError, match="another process is writing"):
        IndexSet.load(index_dir, IndexSettings(), writable=True)
    writer.add(["logged"], rows(vectors, 0))
    writer.close()
    # `index build` over the same folder: the old log must not be replayed onto the new index.
    IndexSet.from_vectors("fp", names[:1100], {s: v[:1100] for s, v in vectors.items()}, IndexSettings()).save(
        index_dir
    )
    rebuilt = IndexSet.load(index_dir, IndexSettings())
    assert len(rebuilt) == 1100 and "logged" not in rebuilt
    assert len(writelog.segments(index_dir)) == 0


def test_a_writable_open_removes_what_an_interrupted_save_left(tmp_path: Path) -> None:
    index_dir, _, _ = saved_index(tmp_path)
    orphan = index_dir / "data-19990101T000000-deadbeef"
    orphan.mkdir()
    (orphan / "style.faiss").write_bytes(b"x" * 1000)
    (index_dir / ".manifest.json.1234abcd.tmp").write_text("{ half")
    IndexSet.load(index_dir, IndexSettings())  # a reader leaves them: it may be another process's save
    assert orphan.exists()
    IndexSet.load(index_dir, IndexSettings(), writable=True).close()
    assert not orphan.exists() and not list(index_dir.glob(".*.tmp"))
    assert len(list(index_dir.glob("data-*"))) == 1


def _run_writer_until_killed(index_dir: Path, first_step: int, rng: random.Random) -> list[list[str]]:
    """Start the writer child, kill -9 it at a random moment after its first acknowledged write; its lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.index_writer", str(index_dir), str(first_step)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # wait for the first acknowledgement
        lines.append(line.split())
        if line.startswith("ack"):
            break
    else:
        raise AssertionError(f"writer died: {proc.stderr.read() if proc.stderr else ''}")
    time.sleep(rng.uniform(0.05, 0.8))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines += [line.split() for line in proc.stdout.read().splitlines()]
    return lines


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["flat", "ivf_flat"])
def test_kill_9_at_random_points_loses_no_acknowledged_write(tmp_path: Path, kind: str) -> None:
    """A writer doing random writes while a thread compacts, killed at random moments: on reopen every
    acknowledged write is there once, and nothing else but possibly the one write in flight."""
    index_dir, names, vectors = saved_index(tmp_path, kind)
    state = {n: {s: vectors[s][i] for s in SPACES} for i, n in enumerate(names)}
    rng = random.Random(13)
    step, acked_total = 0, 0
    for _ in range(6):
        lines = _run_writer_until_killed(index_dir, step, rng)
        pending: dict[int, tuple[str, str]] = {}
        in_flight = None
        for line in lines:
            if line[0] == "begin":
                pending[int(line[1])] = (line[2], line[3])
                in_flight = int(line[1])
            elif line[0] == "ack":
                done = int(line[1])
                op, video = pending.pop(done)
                apply_step(state, op, video, done)
                acked_total += 1
                in_flight = None
        reopened = IndexSet.load(index_dir, IndexSettings(nprobe=64))
        candidates = [state]
        if in_flight is not None:  # durable or not: the kill came between its fsync and its "ack"
            op, video = pending[in_flight]
            candidates.append(apply_step({k: dict(v) for k, v in state.items()}, op, video, in_flight))
        stored = sorted(reopened.video_ids())
        match = [c for c in candidates if sorted(c) == stored and same_vectors(reopened, c)]
        assert match, f"after step {in_flight}: reopened index matches no acknowledged state"
        state = match[0]
        assert_each_stored_once(reopened, kind)
        step = max(int(line[1]) for line in lines if line[0] in ("begin", "ack")) + 1
    assert acked_total >= 30, f"only {acked_total} writes acknowledged across the runs"

