"""The offline neighbour table: shape, self left out, order, the same answers as per-video queries, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vidstyle.cli.app import app
from vidstyle.core.settings import IndexSettings, ServeSettings
from vidstyle.embedder.dataset import write_vectors
from vidstyle.indexing import IndexSet
from vidstyle.indexing import neighbours as job
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors
from vidstyle.indexing.neighbours import write_neighbours
from vidstyle.indexing.recommend import Blend, recommend

N = 300
BLEND = Blend.from_settings(ServeSettings())


@pytest.fixture(scope="module")
def index() -> IndexSet:
    ids = [f"v{i:03d}" for i in range(N)]
    vectors = {"style": clustered_unit_vectors(N, 32, seed=1), "content": clustered_unit_vectors(N, 16, seed=2)}
    return IndexSet.from_vectors("m", ids, vectors, IndexSettings())


@pytest.mark.parametrize("space", ["style", "content"])
def test_table_matches_per_video_queries(index: IndexSet, space: str, tmp_path: Path) -> None:
    out = tmp_path / "n.parquet"
    summary = write_neighbours(index, space, 7, out, chunk=64, progress=False)
    table = pq.read_table(out)
    assert table.column_names == ["video_id", "neighbour_ids", "scores"] and table.num_rows == N == summary.videos
    for row in table.to_pylist():
        expected = index.search_id(row["video_id"], space, 7)
        assert row["video_id"] not in row["neighbour_ids"]
        assert row["neighbour_ids"] == [v for v, _ in expected]
        np.testing.assert_allclose(row["scores"], [s for _, s in expected], rtol=0, atol=1e-6)
        assert row["scores"] == sorted(row["scores"], reverse=True)
    assert not (tmp_path / ".n.parquet.parts").exists()


def test_recommend_ranks_exactly_as_the_api(index: IndexSet, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    write_neighbours(index, "recommend", 5, out, blend=BLEND, chunk=100, progress=False)
    for row in pq.read_table(out).to_pylist()[::37]:
        api = recommend(index, row["video_id"], 5, BLEND)
        assert row["neighbour_ids"] == [r.video_id for r in api]
        np.testing.assert_allclose(row["scores"], [r.score for r in api], rtol=0, atol=1e-6)


def test_an_interrupted_run_resumes_from_its_parts(index: IndexSet, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "n.parquet"
    real, calls = job._rows, []

    def interrupted(*args: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(job, "_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_neighbours(index, "style", 5, out, chunk=64, progress=False)
    assert not out.exists() and len(list((tmp_path / ".n.parquet.parts").glob("part-*.parquet"))) == 2
    monkeypatch.setattr(job, "_rows", real)
    resumed = write_neighbours(index, "style", 5, out, chunk=64, progress=False)
    assert resumed.reused_parts == 2 and resumed.parts == 5
    fresh = tmp_path / "fresh.parquet"
    write_neighbours(index, "style", 5, fresh, chunk=64, progress=False)
    assert pq.read_table(out).equals(pq.read_table(fresh))
    # Another request is another job: nothing is reused.
    monkeypatch.setattr(job, "_rows", interrupted)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        write_neighbours(index, "style", 5, out, chunk=64, progress=False)
    monkeypatch.setattr(job, "_rows", real)
    assert write_neighbours(index, "style", 6, out, chunk=64, progress=False).reused_parts == 0


def test_cli_writes_the_recommend_table(tmp_path: Path) -> None:
    ids = [f"clip{i:02d}" for i in range(40)]
    write_vectors(tmp_path / "emb", ids, {"style": clustered_unit_vectors(40, 12, seed=3),
                                          "content": clustered_unit_vectors(40, 8, seed=4)})
    runner = CliRunner()
    assert runner.invoke(app, ["index", "build", str(tmp_path / "emb"), "--out", str(tmp_path / "i")]).exit_code == 0
    result = runner.invoke(app, ["neighbours", str(tmp_path / "i"), "--space", "recommend", "-k", "3",
                                 "--out", str(tmp_path / "rec.parquet"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote the neighbours of 40 videos -> {tmp_path / 'rec.parquet'}"
    table = pq.read_table(tmp_path / "rec.parquet")
    assert sorted(table.column("video_id").to_pylist()) == ids
    assert all(len(n) <= 3 for n in table.column("neighbour_ids").to_pylist())
