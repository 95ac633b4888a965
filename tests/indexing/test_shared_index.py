"""Several processes serving one INDEX_DIR (`IndexSet.load(..., shared=True)`), on real FAISS and real files: the
index files memory-mapped and never rewritten by a write, each process's writes seen by the others, a compaction
by one taken in by the others, concurrent writers in real processes keeping one log, a torn record cut."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.catalogue_vectors import DIMS, N, rows, saved_index, top
from tests.support.index_writer import step_vectors
from tests.support.write_checks import apply_step, assert_each_stored_once, same_vectors
from vidstyle.core.settings import IndexSettings
from vidstyle.core.vectors import unit
from vidstyle.indexing import SPACES, IndexSet, UnknownVideoError, writelog

SETTINGS = IndexSettings(nprobe=64)


def data_files(index_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(index_dir)) for p in index_dir.glob("data-*/*"))


def shared(index_dir: Path) -> IndexSet:
    return IndexSet.load(index_dir, SETTINGS, shared=True)


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "ivf_fastscan", "hnsw"])
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

    with open(writelog.segments(index_dir)[-1].path, "ab") as fh:  # another crash, now followed by a compaction
        fh.write(b"\x40\x00\x00\x00torn")
    a.save(index_dir)  # seals the segment: its torn record is cut first, or no load could read past it
    b.add(["third"], rows(vectors, 3))
    b.save(index_dir)
    assert {"first", "second", "third"} <= set(IndexSet.load(index_dir, SETTINGS).video_ids())


class _SharedWriter:
    """A `tests.support.index_writer --shared SLOT` child; its stdout lines are read as they come, so a kill
    can fall at any moment, and its stderr goes to a file for the message when it dies on its own."""

    def __init__(self, index_dir: Path, slot: int, first_step: int) -> None:
        self.stderr = index_dir.parent / f"writer-{slot}-{first_step}.err"
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.index_writer", str(index_dir), str(first_step),
                 "--shared", str(slot)],
                stdout=subprocess.PIPE, stderr=err, text=True, cwd=Path(__file__).resolve().parents[2],
            )
        self.lines: list[list[str]] = []
        self.acked = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.split())
            if line.startswith("ack"):
                self.acked.set()

    def wait_for_ack(self) -> None:
        if not self.acked.wait(timeout=60):
            raise AssertionError(f"writer acknowledged nothing: {self.stderr.read_text()[-3000:]}")

    def kill(self) -> list[list[str]]:
        """kill -9 it (it must still be running: a writer that died on its own failed); its lines."""
        assert self.proc.poll() is None, f"writer died on its own: {self.stderr.read_text()[-3000:]}"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join(timeout=10)
        return self.lines


@pytest.mark.slow
def test_kill_9_of_shared_writers_at_random_points_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """Two shared writers, each compacting over and over, killed (one or both) at random moments and started
    again while the other goes on: a fresh load holds every acknowledged write once, with its vectors; a write
    in flight at a kill may be there or not. Each writer touches only its own videos, so each video's history
    is one process's lines, in order."""
    index_dir, names, vectors = saved_index(tmp_path, "flat")
    initial = {n: {s: vectors[s][i] for s in SPACES} for i, n in enumerate(names)}
    rng = random.Random(5)
    next_step = [0, 1_000_000]
    writes: list[tuple[int, str, str, bool]] = []  # (step, op, video, acknowledged), in each video's order

    def take(slot: int, lines: list[list[str]]) -> None:
        acked = {int(line[1]) for line in lines if line[0] == "ack"}
        begun = [line for line in lines if line[0] == "begin"]
        writes.extend((int(step), op, video, int(step) in acked) for _, step, op, video in begun)
        next_step[slot] = max((int(line[1]) for line in lines), default=next_step[slot] - 1) + 1

    writers = {slot: _SharedWriter(index_dir, slot, next_step[slot]) for slot in (0, 1)}
    for _ in range(6):
        for writer in writers.values():
            writer.wait_for_ack()
        time.sleep(rng.uniform(0.2, 1.0))
        for slot in [0, 1] if rng.random() < 0.3 else [rng.randrange(2)]:
            take(slot, writers[slot].kill())
            writers[slot] = _SharedWriter(index_dir, slot, next_step[slot])
    for slot, writer in writers.items():
        writer.wait_for_ack()
        take(slot, writer.kill())

    possible: dict[str, list[dict | None]] = {n: [v] for n, v in initial.items()}  # None: not stored
    for step, op, video, acked in writes:
        after = apply_step({video: None}, op, video, step).get(video)
        possible[video] = [after] if acked else [*possible.get(video, [None]), after]
    index = IndexSet.load(index_dir, SETTINGS)
    for video, states in possible.items():
        if video in index:
            assert any(s is not None and same_vectors(index, {video: s}) for s in states), f"{video}: wrong vectors"
        else:
            assert None in states, f"{video}: an acknowledged write is lost"
    assert set(index.video_ids()) <= set(possible)
    assert_each_stored_once(index, "flat")
    assert sum(acked for *_, acked in writes) >= 60, "too few writes acknowledged to test anything"
