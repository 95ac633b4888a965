"""`vidstyle embed --engine ray` on a real local Ray instance: the local engine's rows, failures kept as rows,
resume after a kill -9 of the driver; and the pure parts (Ray-version compatibility, the actor layout)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.support.media import half_catalogue
from tests.support.paths import OFFLINE_CONFIG
from vidstyle.cli.app import app
from vidstyle.core.settings import Settings
from vidstyle.embedder import dataset
from vidstyle.embedder.ray_engine import Layout, actor_pool_args, embed_ray, from_items_args

VECTOR_COLUMNS = ("content", "style", "style_stats", "style_gram")


def rows_by_id(emb_dir: Path) -> dict[str, dict]:
    rows = pq.read_table(emb_dir).to_pylist()
    ids = [r["video_id"] for r in rows]
    assert len(ids) == len(set(ids)), "every video exactly once"
    return {r["video_id"]: r for r in rows}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """One local Ray instance (2 CPUs) for the module's tests; yields its address for drivers that join it."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _add_bad_files(src: Path, good: bytes) -> None:
    (src / "empty.mp4").write_bytes(b"")
    (src / "notes.mp4").write_text("not a video at all\n" * 50)
    (src / "truncated.mp4").write_bytes(good[: len(good) // 3])
    corrupt = bytearray(good)
    corrupt[64:] = bytes(len(corrupt) - 64)  # the header survives, every frame is zeros
    (src / "corrupt.mp4").write_bytes(bytes(corrupt))


BAD = ("empty", "notes", "truncated", "corrupt")


@pytest.mark.slow
def test_ray_engine_writes_the_local_engines_rows_and_bad_files_as_failed_rows(
        ray_cluster: str, sample_catalogue: Path, embedded_catalogue: Path, offline_settings: Settings,
        tmp_path: Path) -> None:
    """One run over the sample catalogue plus four bad files (one actor pool, as a real catalogue has both)."""
    src, out = tmp_path / "src", tmp_path / "emb"
    shutil.copytree(sample_catalogue, src)
    _add_bad_files(src, (sample_catalogue / "cat__natural.mp4").read_bytes())
    summary = embed_ray(src, out, offline_settings, progress=False)
    local, remote = rows_by_id(embedded_catalogue), rows_by_id(out)
    assert sorted(remote) == sorted([*local, *BAD])
    assert (summary.ok, summary.failed, summary.skipped) == (len(local), len(BAD), 0), \
        {v: r["error"] for v, r in remote.items() if r["error"]}
    assert summary.frames == sum(r["n_frames"] for r in local.values())
    worst = 0.0
    for vid, want in local.items():
        got = remote[vid]
        assert got["path"] == str(src / Path(want["path"]).name)
        for column in ("status", "error", "n_frames", "frame_times", "model", "thumbnails"):
            assert got[column] == want[column], (vid, column)
        for column in VECTOR_COLUMNS:
            diff = np.abs(np.asarray(got[column], np.float32) - np.asarray(want[column], np.float32)).max()
            worst = max(worst, float(diff))
    print(f"max abs difference ray vs local: {worst:.2e}")
    assert worst <= 1e-5
    for vid in BAD:
        assert remote[vid]["status"] == "failed" and remote[vid]["error"], remote[vid]
        assert remote[vid]["content"] is None and remote[vid]["n_frames"] == 0
    assert "empty" in remote["empty"]["error"]
    assert pq.read_schema(dataset.parts(out)[0]) == pq.read_schema(dataset.parts(embedded_catalogue)[0])
    recorded = json.loads((out / dataset.SETTINGS_FILE).read_text())
    assert recorded == json.loads((embedded_catalogue / dataset.SETTINGS_FILE).read_text())

    retried = embed_ray(src, out, offline_settings, progress=False, retry_failed=True)
    assert (retried.ok, retried.failed, retried.skipped, retried.retried) == (0, len(BAD), len(local), len(BAD))
    assert rows_by_id(out).keys() == remote.keys()


@pytest.mark.slow
def test_a_model_that_cannot_load_is_the_users_error_and_writes_nothing(ray_cluster: str, sample_catalogue: Path,
                                                                        offline_settings: Settings,
                                                                        tmp_path: Path) -> None:
    from vidstyle.backbones import WeightsUnavailable

    broken = offline_settings.model_copy(
        update={"model": offline_settings.model.model_copy(update={"weights_path": tmp_path / "missing.pth"})})
    with pytest.raises(WeightsUnavailable, match="missing.pth"):
        embed_ray(sample_catalogue, tmp_path / "emb", broken, progress=False)
    assert not dataset.parts(tmp_path / "emb") and not (tmp_path / "emb" / dataset.SETTINGS_FILE).exists()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "vidstyle", *args]


@pytest.mark.slow
def test_kill_9_of_the_driver_then_rerun_gives_every_video_once(ray_cluster: str, sample_catalogue: Path,
                                                                 tmp_path: Path) -> None:
    """The killed run starts its own local Ray instance; the rerun joins the module's one with --address.

    Half the sample catalogue: enough for parts before and after the kill, and half the rerun's time."""
    src, out = tmp_path / "src", tmp_path / "emb"
    videos = half_catalogue(sample_catalogue, src)
    env = os.environ | {"VIDSTYLE_EMBED__PART_ROWS": "2", "VIDSTYLE_MODEL__BATCH_SIZE": "4"}
    cmd = _cli("embed", str(src), "--out", str(out), "--config", str(OFFLINE_CONFIG), "--no-progress",
               "--engine", "ray")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not dataset.parts(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, f"the job ended before it could be killed: {proc.communicate()[1].decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = rows_by_id(out)
    total = len(videos)
    assert 0 < len(partial) < total

    rerun = subprocess.run([*cmd, "--address", ray_cluster], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipped {len(partial)} already done" in rerun.stdout
    rows = rows_by_id(out)
    assert len(rows) == total and all(r["status"] == "ok" for r in rows.values())
    assert not list(out.glob(".*.tmp"))


def test_cli_engine_and_address_flags() -> None:
    runner = CliRunner()
    bad_engine = runner.invoke(app, ["embed", ".", "--out", "o", "--engine", "spark"])
    assert bad_engine.exit_code == 2 and "'local', 'ray'" in bad_engine.output
    address_without_ray = runner.invoke(app, ["embed", ".", "--out", "o", "--address", "auto"])
    assert address_without_ray.exit_code == 2 and "--engine ray" in address_without_ray.output


def test_actor_pool_arguments_follow_the_ray_version() -> None:
    pytest.importorskip("ray")
    assert actor_pool_args("2.9.3", 3) == {"concurrency": 3}
    assert actor_pool_args("2.50.1", 3) == {"concurrency": 3}
    for version in ("2.8.1", "2.51.0", "2.60.0", "3.0.0.dev0"):
        strategy = actor_pool_args(version, 3)["compute"]
        assert (strategy.min_size, strategy.max_size) == (3, 3), version
    assert from_items_args("2.9.3", 5) == {"parallelism": 5}
    assert from_items_args("2.60.0", 5) == {"override_num_blocks": 5}


def test_layout_fits_the_cluster() -> None:
    assert Layout.for_cluster({"CPU": 2.0}) == Layout(decoders=1, models=1, cpus_per_actor=1.0, gpus_per_model=0)
    assert Layout.for_cluster({"CPU": 16.0}) == Layout(3, 13, 1.0, 0)
    assert Layout.for_cluster({"CPU": 16.0, "GPU": 2.0}) == Layout(14, 2, 1.0, 1)
    assert Layout.for_cluster({"CPU": 8.0, "GPU": 1.0}, workers=4) == Layout(4, 1, 1.0, 1)
    one_core = Layout.for_cluster({"CPU": 1.0})
    assert (one_core.decoders + one_core.models) * one_core.cpus_per_actor <= 1.0
