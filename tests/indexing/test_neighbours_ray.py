"""`vidstyle neighbours --engine ray` on a real local Ray instance (2 CPUs): the local engine's table, resuming
from the parts either engine left, refusing an index that is not the driver's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tqdm import tqdm
from typer.testing import CliRunner

from vidstyle.cli.app import app
from vidstyle.core.settings import IndexSettings, ServeSettings
from vidstyle.indexing import IndexSet
from vidstyle.indexing import neighbours as local_job
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors
from vidstyle.indexing.neighbours import plan_table, write_neighbours
from vidstyle.indexing.neighbours_ray import IndexChangedError, run_parts, write_neighbours_ray
from vidstyle.indexing.recommend import Blend

N = 200
CHUNK = 32  # 7 parts over 2 workers
BLEND = Blend.from_settings(ServeSettings())


@pytest.fixture(scope="module")
def ray_session() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ids = [f"v{i:03d}" for i in range(N)]
    vectors = {"style": clustered_unit_vectors(N, 32, seed=1), "content": clustered_unit_vectors(N, 16, seed=2)}
    out = tmp_path_factory.mktemp("index")
    IndexSet.from_vectors("m", ids, vectors, IndexSettings()).save(out)
    return out


def local_table(index_dir: Path, space: str, out: Path) -> Path:
    index = IndexSet.load(index_dir, IndexSettings())
    write_neighbours(index, space, 5, out, blend=BLEND if space == "recommend" else None, chunk=CHUNK,
                     progress=False)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("space", ["style", "recommend"])
def test_ray_writes_the_local_engines_table(ray_session: object, index_dir: Path, space: str,
                                           tmp_path: Path) -> None:
    out = tmp_path / "ray.parquet"
    blend = BLEND if space == "recommend" else None
    summary = write_neighbours_ray(index_dir, IndexSettings(), space, 5, out, blend=blend, chunk=CHUNK,
                                   progress=False)
    assert (summary.videos, summary.parts, summary.reused_parts) == (N, 7, 0)
    table = pq.read_table(out)
    assert table.equals(pq.read_table(local_table(index_dir, space, tmp_path / "local.parquet")))
    assert table.column("video_id").to_pylist() == sorted(f"v{i:03d}" for i in range(N))
    assert not (tmp_path / ".ray.parquet.parts").exists()


@pytest.mark.slow
def test_ray_resumes_from_the_parts_an_interrupted_run_left(ray_session: object, index_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "n.parquet"
    real, calls = local_job._rows, []

    def interrupted(*args: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(local_job, "_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        local_table(index_dir, "style", out)
    monkeypatch.setattr(local_job, "_rows", real)
    parts = sorted((tmp_path / ".n.parquet.parts").glob("part-*.parquet"))
    assert len(parts) == 2 and not out.exists()

    resumed = write_neighbours_ray(index_dir, IndexSettings(), "style", 5, out, chunk=CHUNK, progress=False)
    assert (resumed.reused_parts, resumed.parts) == (2, 7)
    assert pq.read_table(out).equals(pq.read_table(local_table(index_dir, "style", tmp_path / "fresh.parquet")))


@pytest.mark.slow
def test_a_worker_whose_index_holds_other_videos_fails_the_job(ray_session: object, index_dir: Path,
                                                               tmp_path: Path) -> None:
    job = plan_table(IndexSet.load(index_dir, IndexSettings()), "style", 5, tmp_path / "n.parquet", chunk=CHUNK)
    with pytest.raises(IndexChangedError, match="changed while the neighbours job started"), \
            tqdm(disable=True) as bar:
        run_parts(ray_session, job, job.todo(), str(index_dir), IndexSettings(), "not the driver's ids", 2, bar)
    assert not list(job.work.glob("part-*.parquet")), "nothing is published from a mismatched index"


@pytest.mark.slow
def test_cli_engine_ray(ray_session: object, index_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "c.parquet"
    result = runner.invoke(app, ["neighbours", str(index_dir), "--space", "content", "-k", "3", "--out", str(out),
                                 "--engine", "ray", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote the neighbours of {N} videos -> {out}"
    table = pq.read_table(out)
    assert table.num_rows == N and all(len(n) == 3 for n in table.column("neighbour_ids").to_pylist())
    wrong = runner.invoke(app, ["neighbours", str(index_dir), "--space", "content", "--out", str(out),
                                "--address", "auto"])
    assert wrong.exit_code == 2 and "--address is for --engine ray" in wrong.output
