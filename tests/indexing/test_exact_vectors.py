"""ExactVectors: the float vectors behind compressed indexes, looked up by id (a run of ids, or ids with gaps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidstyle.indexing.exact_vectors import ExactVectors


@pytest.mark.parametrize("ids", [np.arange(100, 400), np.arange(0, 900, 3)], ids=["run", "gaps"])
def test_lookup_finds_file_rows_and_added_rows_and_refuses_unknown_ids(tmp_path: Path, ids: np.ndarray) -> None:
    rows = np.random.default_rng(0).standard_normal((len(ids), 8)).astype(np.float32)
    path = tmp_path / "v.npy"
    np.save(path, rows)
    exact = ExactVectors(ids, np.load(path, mmap_mode="r"))
    extra = np.ones((1, 8), np.float32)
    exact.add(np.array([5000]), extra)
    want = np.array([ids[7], 5000, ids[0], ids[-1]])
    got = exact.get(want)
    np.testing.assert_array_equal(got, np.stack([rows[7], extra[0], rows[0], rows[-1]]))
    for unknown in (int(ids[0]) - 1, int(ids[-1]) + 1, 4999):
        with pytest.raises(KeyError, match=str(unknown)):
            exact.get(np.array([unknown]))
    scores, labels = exact.rerank(rows[3:4], np.array([[ids[1], ids[3], -1]]), 2)
    assert labels.tolist() == [[ids[3], ids[1]]] and scores[0, 0] == pytest.approx(float(rows[3] @ rows[3]))


@pytest.mark.parametrize("ids", [np.arange(100, 400), np.arange(0, 900, 3)], ids=["run", "gaps"])
def test_a_discarded_file_row_is_never_returned_and_a_re_added_id_gets_its_new_row(
    tmp_path: Path, ids: np.ndarray
) -> None:
    rows = np.random.default_rng(1).standard_normal((len(ids), 8)).astype(np.float32)
    path = tmp_path / "v.npy"
    np.save(path, rows)
    exact = ExactVectors(ids, np.load(path, mmap_mode="r"))
    gone, again = int(ids[7]), int(ids[20])
    exact.discard([gone, again])
    for deleted in (gone, again):
        with pytest.raises(KeyError, match=str(deleted)):
            exact.get(np.array([ids[6], deleted]))
    fresh = np.full((1, 8), 2.0, np.float32)
    exact.add(np.array([again]), fresh)  # the same id, stored again with another vector
    got = exact.get(np.array([ids[6], again, ids[8]]))
    np.testing.assert_array_equal(got, np.stack([rows[6], fresh[0], rows[8]]))
    written = np.concatenate(list(exact.rows_of(np.array([ids[6], again]))))  # what a save writes
    np.testing.assert_array_equal(written[1], fresh[0])
