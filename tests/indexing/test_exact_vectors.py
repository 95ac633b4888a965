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
