"""Catalogues and EMB_DIR in object storage, against a real S3-compatible server on 127.0.0.1 (moto's server mode).

Both ends in S3 (`embed s3://bucket/videos --out s3://bucket/emb`) must give the rows and vectors a run over the
same files on local paths gives; an interrupted run's rerun must leave every video once; an object that is missing
or over the size limit is a failed row with its reason, not a failed job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import OFFLINE_CONFIG
from tests.support.s3 import BUCKET, s3_server, upload
from vidstyle.core import storage
from vidstyle.core.settings import Settings
from vidstyle.embedder import dataset
from vidstyle.embedder.pipeline import embed
from vidstyle.media.samples import make_catalogue

pytestmark = pytest.mark.slow

VECTOR_COLUMNS = ("content", "style", "style_stats", "style_gram")
VIDEOS = f"s3://{BUCKET}/videos"


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def catalogue(s3: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three tiny real H.264 videos, on local disk and under VIDEOS in S3."""
    folder = tmp_path_factory.mktemp("videos")
    make_catalogue(folder, ["cat", "coffee", "rocket"], ["natural"], seed=3, seconds=2.0, fps=6, size=96)
    upload(folder, VIDEOS)
    return folder


def _rows(emb_dir: storage.Location) -> dict[str, dict]:
    table = dataset.read_table(emb_dir)
    assert table is not None
    rows = table.to_pylist()
    assert len(rows) == len({r["video_id"] for r in rows}), "every video exactly once"
    return {r["video_id"]: r for r in rows}


def test_s3_to_s3_gives_the_rows_of_a_local_run(catalogue: Path, offline_settings: Settings, embedder,
                                                 tmp_path: Path) -> None:
    local_out, s3_out = tmp_path / "emb", f"s3://{BUCKET}/emb-same"
    embed(catalogue, local_out, offline_settings, progress=False, embedder=embedder)
    summary = embed(VIDEOS, s3_out, offline_settings, progress=False, embedder=embedder)
    local, remote = _rows(local_out), _rows(s3_out)
    assert sorted(remote) == sorted(local) == ["cat__natural", "coffee__natural", "rocket__natural"]
    assert (summary.ok, summary.failed) == (3, 0)
    for video_id, row in remote.items():
        assert row["status"] == "ok" and row["path"] == f"{VIDEOS}/{video_id}.mp4"
        assert row["n_frames"] == local[video_id]["n_frames"] and row["frame_times"] == local[video_id]["frame_times"]
        for column in VECTOR_COLUMNS:
            diff = np.abs(np.asarray(row[column]) - np.asarray(local[video_id][column])).max()
            assert diff <= 1e-5, (video_id, column, diff)
    assert dataset.recorded_settings(s3_out) == dataset.recorded_settings(local_out) is not None
    # The index builder reads it where it is.
    assert sorted(dataset.read_embeddings(s3_out, {"style": "style"}).video_ids) == sorted(local)
    # Only whole parts and the settings record were written: no temp objects, nothing outside EMB_DIR's folder.
    names = sorted(storage.name(o.url) for o in storage.list_objects(s3_out))
    assert names[0] == dataset.SETTINGS_FILE and all(n.startswith("part-") for n in names[1:])

    again = embed(VIDEOS, s3_out, offline_settings, progress=False, embedder=embedder)
    assert (again.ok, again.failed, again.skipped) == (0, 0, 3)


def test_a_manifest_in_s3_with_a_missing_object_gives_a_failed_row(catalogue: Path, offline_settings: Settings,
                                                                   embedder) -> None:
    manifest = f"s3://{BUCKET}/lists/manifest.csv"
    storage.put(manifest, (
        "video_id,path\n"
        f"cat,{VIDEOS}/cat__natural.mp4\n"  # a URL
        "gone,../videos/missing.mp4\n"  # relative to the manifest's folder
    ).encode())
    out = f"s3://{BUCKET}/emb-manifest"
    summary = embed(manifest, out, offline_settings, progress=False, embedder=embedder)
    rows = _rows(out)
    assert (summary.ok, summary.failed) == (1, 1)
    assert rows["cat"]["status"] == "ok"
    gone = rows["gone"]
    assert gone["status"] == "failed" and gone["path"] == f"s3://{BUCKET}/lists/../videos/missing.mp4"
    assert "no such object" in gone["error"], gone["error"]


def test_fetch_refuses_an_object_over_the_limit_and_leaves_nothing(catalogue: Path, tmp_path: Path) -> None:
    url = f"{VIDEOS}/cat__natural.mp4"
    size = (catalogue / "cat__natural.mp4").stat().st_size
    dest = tmp_path / "copy.mp4"
    assert storage.fetch(url, dest, max_bytes=size) == size and dest.read_bytes() == (catalogue /
                                                                                      "cat__natural.mp4").read_bytes()
    with pytest.raises(storage.StorageError, match="over the .* limit"):
        storage.fetch(url, tmp_path / "small.mp4", max_bytes=size - 1)
    assert not (tmp_path / "small.mp4").exists()


def test_kill_9_mid_run_then_rerun_gives_every_video_once(catalogue: Path) -> None:
    out = f"s3://{BUCKET}/emb-killed"
    env = os.environ | {"VIDSTYLE_EMBED__PART_ROWS": "1", "VIDSTYLE_MODEL__BATCH_SIZE": "1"}
    cmd = [sys.executable, "-m", "vidstyle", "embed", VIDEOS, "--out", out, "--config", str(OFFLINE_CONFIG),
           "--no-progress", "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not dataset.parts(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, f"the job ended before it could be killed: {proc.communicate()[1].decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _rows(out)
    assert 0 < len(partial) < 3

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipped {len(partial)} already done" in rerun.stdout and out in rerun.stdout
    rows = _rows(out)
    assert sorted(rows) == ["cat__natural", "coffee__natural", "rocket__natural"]
    assert all(r["status"] == "ok" for r in rows.values())


def test_ray_engine_s3_to_s3_gives_the_local_engines_rows(catalogue: Path, offline_settings: Settings, embedder,
                                                          tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from vidstyle.embedder.ray_engine import embed_ray

    local_out = tmp_path / "emb"
    embed(catalogue, local_out, offline_settings, progress=False, embedder=embedder)
    out = f"s3://{BUCKET}/emb-ray"
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = embed_ray(VIDEOS, out, offline_settings, progress=False)
    finally:
        ray.shutdown()
    local, remote = _rows(local_out), _rows(out)
    assert sorted(remote) == sorted(local) and summary.ok == 3
    for video_id, row in remote.items():
        assert row["path"] == f"{VIDEOS}/{video_id}.mp4"
        for column in VECTOR_COLUMNS:
            assert np.abs(np.asarray(row[column]) - np.asarray(local[video_id][column])).max() <= 1e-5
