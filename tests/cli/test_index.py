"""`vidstyle index build` and `vidstyle query` through the `vidstyle` app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.cli.app import app
from vidstyle.embedder.dataset import write_vectors
from vidstyle.indexing.clustered_vectors import clustered_unit_vectors

runner = CliRunner()

N = 80


@pytest.fixture(scope="module")
def emb_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("emb")
    vectors = {"style": clustered_unit_vectors(N, 36, seed=1), "content": clustered_unit_vectors(N, 20, seed=2)}
    write_vectors(
        out, [f"clip{i:02d}" for i in range(N)], vectors, fingerprint="vgg19:feedc0ffee00", failed=["bad"]
    )
    return out


@pytest.fixture(scope="module")
def index_dir(emb_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("idx") / "index"
    result = runner.invoke(app, ["index", "build", str(emb_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"indexed {N} videos" in result.stdout
    assert "style" in result.stdout and "content" in result.stdout
    return out


def test_build_writes_an_index(index_dir: Path) -> None:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["count"] == N and manifest["fingerprint"] == "vgg19:feedc0ffee00"
    assert manifest["dims"] == {"style": 36, "content": 20}


@pytest.mark.parametrize("space", ["style", "content"])
def test_query_video_id_json(index_dir: Path, space: str) -> None:
    result = runner.invoke(
        app, ["query", str(index_dir), "--video-id", "clip03", "--space", space, "-k", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["space"] == space
    assert len(payload["results"]) == 5
    assert all(set(r) == {"video_id", "score"} for r in payload["results"])
    assert "clip03" not in [r["video_id"] for r in payload["results"]]
    scores = [r["score"] for r in payload["results"]]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0001 for s in scores)


def test_query_table(index_dir: Path) -> None:
    result = runner.invoke(app, ["query", str(index_dir), "--video-id", "clip00", "--space", "style", "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["rank", "video_id", "score"] and len(lines) == 4
    assert lines[1].split()[0] == "1"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--video-id", "nope", "--space", "style"], 1, "unknown video id 'nope'"),
        (["--space", "style"], 2, "exactly one of --video-id and --file"),
        (["--video-id", "clip01", "--file", "x.mp4", "--space", "style"], 2, "exactly one"),
    ],
)
def test_query_user_errors(index_dir: Path, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, ["query", str(index_dir), *args])
    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_query_refuses_a_bad_index_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", str(tmp_path), "--video-id", "a", "--space", "style"])
    assert result.exit_code == 1
    assert "not an index directory" in result.stderr


def test_build_refuses_a_missing_emb_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", "build", str(tmp_path / "none"), "--out", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert "no such embeddings directory" in result.stderr and "Traceback" not in result.output


def test_build_reports_a_bad_config(emb_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("index:\n  index_type: quantum\n")
    result = runner.invoke(app, ["index", "build", str(emb_dir), "--out", str(tmp_path / "i"), "--config", str(config)])
    assert result.exit_code == 1 and "invalid settings" in result.stderr


@pytest.mark.slow
def test_query_file_end_to_end(embedded_catalogue: Path, sample_catalogue: Path, tmp_path: Path) -> None:
    """Real videos: index the embedded sample catalogue, then query with one of its files."""
    out = tmp_path / "index"
    config = ["--config", str(OFFLINE_CONFIG)]
    build = runner.invoke(app, ["index", "build", str(embedded_catalogue), "--out", str(out), *config])
    assert build.exit_code == 0, build.output
    video = sorted(p for p in sample_catalogue.rglob("*") if p.suffix in {".mp4", ".mkv", ".avi"})[0]
    result = runner.invoke(
        app, ["query", str(out), "--file", str(video), "--space", "content", "-k", "3", "--json", *config]
    )
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)["results"][0]
    assert best["score"] > 0.99  # the file itself is in the index

    # An index of another model's embeddings refuses the file instead of comparing across models.
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(embedded_catalogue)
    table = table.set_column(
        table.schema.get_field_index("model"), "model", pa.array(["other:000000000000"] * len(table))
    )
    other_emb = tmp_path / "other-emb"
    other_emb.mkdir()
    pq.write_table(table, other_emb / "part-00000.parquet")
    other_index = tmp_path / "other-index"
    assert runner.invoke(app, ["index", "build", str(other_emb), "--out", str(other_index), *config]).exit_code == 0
    other = runner.invoke(app, ["query", str(other_index), "--file", str(video), "--space", "style", *config])
    assert other.exit_code == 1
    assert "embedded with model" in other.stderr and "other:000000000000" in other.stderr


def test_unit_scores_are_cosine(index_dir: Path, emb_dir: Path) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(emb_dir, filters=[("status", "=", "ok")])
    names = table.column("video_id").to_pylist()
    style = np.stack(table.column("style").to_numpy(zero_copy_only=False))
    result = runner.invoke(
        app, ["query", str(index_dir), "--video-id", names[0], "--space", "style", "-k", "1", "--json"]
    )
    top = json.loads(result.stdout)["results"][0]
    expected = float(style[names.index(top["video_id"])] @ style[0])
    assert abs(top["score"] - expected) < 1e-5


def test_build_reports_the_failed_rows_it_left_out(emb_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", "build", str(emb_dir), "--out", str(tmp_path / "i")])
    assert result.exit_code == 0 and "left out 1 failed rows" in result.stdout, result.output


def test_query_of_a_failed_video_says_it_failed_and_why(index_dir: Path) -> None:
    result = runner.invoke(app, ["query", str(index_dir), "--video-id", "bad", "--space", "style"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: video 'bad' failed to embed, so it is not indexed: cannot decode"


@pytest.mark.slow
def test_query_file_needs_no_config_on_an_offline_index(embedded_catalogue: Path, sample_catalogue: Path,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index was built from EfficientNet-Lite0 embeddings; the default config's VGG19 is not on this machine.
    `query --file` embeds with the model recorded in the index's dataset."""
    monkeypatch.delenv("VIDSTYLE_CONFIG", raising=False)
    out = tmp_path / "index"
    build = runner.invoke(app, ["index", "build", str(embedded_catalogue), "--out", str(out)])
    assert build.exit_code == 0, build.output
    video = sorted(sample_catalogue.glob("*.mp4"))[0]
    result = runner.invoke(app, ["query", str(out), "--file", str(video), "--space", "style", "-k", "1", "--json"])
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)["results"][0]
    assert best["video_id"] == video.stem and best["score"] > 0.9999
