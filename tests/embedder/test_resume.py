"""What a rerun of `vidstyle embed` embeds, what it skips and says, and what it records for later commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.cli.app import app
from vidstyle.core.errors import USER_ERROR_EXIT
from vidstyle.core.settings import Settings, load_settings
from vidstyle.embedder import dataset
from vidstyle.embedder.pipeline import embed
from vidstyle.media.samples import camera_motion, render_scene, write_video
from vidstyle.media.sources import SourceError

runner = CliRunner()


def _clip(path: Path, content: str = "cat", look: str = "natural", seed: int = 0) -> Path:
    frames = camera_motion(render_scene(content, look, seed=seed), 12, 96, np.random.default_rng(seed))
    return write_video(path, frames, fps=6, gop=6)


def _rows(emb_dir: Path) -> dict[str, dict]:
    rows = pq.read_table(emb_dir, columns=["video_id", "path", "status", "error"]).to_pylist()
    assert len(rows) == len({r["video_id"] for r in rows}), "every video exactly once"
    return {r["video_id"]: r for r in rows}


def test_a_file_already_embedded_keeps_its_id_when_a_sibling_arrives(tmp_path: Path, offline_settings: Settings,
                                                                     embedder) -> None:
    videos, out = tmp_path / "videos", tmp_path / "emb"
    _clip(videos / "clip.mkv")
    embed(videos, out, offline_settings, progress=False, embedder=embedder)
    assert set(_rows(out)) == {"clip"}
    _clip(videos / "clip.mp4", content="coffee")  # now the two ids would be clip.mkv and clip.mp4
    summary = embed(videos, out, offline_settings, progress=False, embedder=embedder)
    rows = _rows(out)
    assert set(rows) == {"clip", "clip.mp4"} and summary.ok == 1 and summary.skipped == 1
    assert Path(rows["clip"]["path"]) == (videos / "clip.mkv").resolve()


def test_images_need_the_flag_and_other_files_are_counted(tmp_path: Path, offline_settings: Settings,
                                                          embedder) -> None:
    from PIL import Image

    videos, out = tmp_path / "videos", tmp_path / "emb"
    _clip(videos / "real.mp4")
    frame = render_scene("astronaut", "natural")
    Image.fromarray(frame).save(videos / "photo.png")
    Image.fromarray(frame).save(videos / "fake.mp4", format="JPEG")  # an image behind a video name
    Image.fromarray(frame).save(videos / "anim.gif")
    (videos / "notes.txt").write_text("not a video")
    summary = embed(videos, out, offline_settings, progress=False, embedder=embedder)
    rows = _rows(out)
    assert set(rows) == {"real", "fake"}
    assert rows["fake"]["status"] == "failed" and "JPEG image" in rows["fake"]["error"]
    assert "--include-images" in rows["fake"]["error"]
    assert "left out 3 files that are not videos (.gif 1, .png 1, .txt 1)" in summary.line(out)

    with_images = embed(videos, tmp_path / "emb-img", offline_settings, progress=False, embedder=embedder,
                        include_images=True)
    rows = _rows(tmp_path / "emb-img")
    assert {v: r["status"] for v, r in rows.items()} == {"real": "ok", "fake": "ok", "photo": "ok", "anim": "ok"}
    assert with_images.not_videos == "1 file that is not videos (.txt 1)"


def test_an_empty_source_is_an_error(tmp_path: Path, offline_settings: Settings) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(SourceError, match=r"holds no videos.*--include-images.*1 file that is not videos"):
        embed(tmp_path / "empty", tmp_path / "emb", offline_settings, progress=False)
    assert not dataset.parts(tmp_path / "emb")


def test_retry_failed_replaces_the_failed_row(tmp_path: Path, offline_settings: Settings, embedder) -> None:
    videos, out = tmp_path / "videos", tmp_path / "emb"
    _clip(videos / "good.mp4")
    (videos / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)  # truncated MP4
    embed(videos, out, offline_settings, progress=False, embedder=embedder)
    assert _rows(out)["broken"]["status"] == "failed"
    _clip(videos / "broken.mp4", content="city")  # the file is repaired
    plain = embed(videos, out, offline_settings, progress=False, embedder=embedder)
    assert plain.skipped == 2 and _rows(out)["broken"]["status"] == "failed"  # failures stay done by default
    retried = embed(videos, out, offline_settings, progress=False, embedder=embedder, retry_failed=True)
    rows = _rows(out)
    assert retried.retried == 1 and retried.ok == 1 and rows["broken"]["status"] == "ok"
    assert set(rows) == {"good", "broken"}


def test_a_finished_rerun_loads_no_model_and_settings_are_recorded(embedded_catalogue: Path,
                                                                   sample_catalogue: Path,
                                                                   tmp_path: Path) -> None:
    """The weights file named here does not exist: a rerun that loaded the model would fail."""
    recorded = json.loads((embedded_catalogue / dataset.SETTINGS_FILE).read_text())
    assert recorded["settings"]["model"]["backbone"] == "efficientnet_lite0"
    assert set(recorded["settings"]["decode"]) == {"max_frames", "min_gap_s"}
    out = tmp_path / "emb"
    shutil.copytree(embedded_catalogue, out)
    unloadable = load_settings(OFFLINE_CONFIG, {"model": {"weights_path": str(tmp_path / "missing.pth")}})
    summary = embed(sample_catalogue, out, unloadable, progress=False)
    assert summary.ok == summary.failed == 0 and summary.skipped == len(_rows(out))


def test_embed_cli_reports_empty_source_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    result = runner.invoke(app, ["embed", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"),
                                 "--config", str(OFFLINE_CONFIG)])
    assert result.exit_code == USER_ERROR_EXIT
    assert result.stderr.strip().splitlines() == [f"error: SOURCE {tmp_path / 'nothing'} holds no videos "
                                                  "(images count only with --include-images)"]
