"""`vidstyle embed` end to end: Parquet rows, failures kept as rows, resume after kill -9, vector quality."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.support.media import CONTENTS, LOOKS, half_catalogue
from tests.support.paths import OFFLINE_CONFIG
from vidstyle.core.settings import load_settings
from vidstyle.embedder import dataset
from vidstyle.embedder.pipeline import embed
from vidstyle.media.sources import list_sources


def rows_by_id(emb_dir: Path) -> dict[str, dict]:
    table = pq.read_table(emb_dir)  # the contract: plain pyarrow reads the dataset
    rows = table.to_pylist()
    ids = [r["video_id"] for r in rows]
    assert len(ids) == len(set(ids)), "every video exactly once"
    return {r["video_id"]: r for r in rows}


def test_dataset_rows_shapes_and_norms(embedded_catalogue: Path, embedder) -> None:
    rows = rows_by_id(embedded_catalogue)
    assert len(rows) == len(CONTENTS) * len(LOOKS)
    for row in rows.values():
        assert row["status"] == "ok" and row["error"] is None
        assert row["model"] == embedder.fingerprint
        assert 2 <= row["n_frames"] <= 8 and len(row["frame_times"]) == row["n_frames"]
        for column in ("content", "style", "style_stats", "style_gram", "style_texture", "style_learned"):
            vec = np.asarray(row[column], np.float32)
            assert vec.shape == (embedder.dims[column],)
            assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-4)
        assert row["style"] == row["style_learned"]  # offline.yaml: style_representation = learned
        assert len(row["thumbnails"]) == row["n_frames"]
    assert embedder.dims["style_gram"] <= 1024


def test_quality_smoke(embedded_catalogue: Path) -> None:
    """Same look → nearer in style space; same content → nearer in content space; well above chance."""
    rows = list(rows_by_id(embedded_catalogue).values())
    content = [r["video_id"].split("__")[0] for r in rows]
    look = [r["video_id"].split("__")[1] for r in rows]
    rates = {}
    for space, labels in (("style", look), ("content", content)):
        vecs = np.stack([np.asarray(r[space], np.float32) for r in rows])
        sims = vecs @ vecs.T
        np.fill_diagonal(sims, -np.inf)
        nearest = sims.argmax(axis=1)
        rates[space] = float(np.mean([labels[i] == labels[j] for i, j in enumerate(nearest)]))
    chance = {"style": (len(CONTENTS) - 1) / (len(rows) - 1), "content": (len(LOOKS) - 1) / (len(rows) - 1)}
    print(f"nearest-neighbour label agreement: {rates} (chance {chance})")
    for space, rate in rates.items():
        assert rate >= max(0.6, 2.5 * chance[space]), space


def test_bad_files_become_failed_rows_and_batch_finishes(tmp_path: Path, sample_catalogue: Path,
                                                          offline_settings, embedder) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("cat__natural.mp4", "coffee__sepia.mp4"):
        shutil.copy(sample_catalogue / name, src / name)
    good = (src / "cat__natural.mp4").read_bytes()
    (src / "empty.mp4").write_bytes(b"")
    (src / "notes.mp4").write_text("not a video at all\n" * 50)
    (src / "truncated.mp4").write_bytes(good[: len(good) // 3])
    summary = embed(src, tmp_path / "emb", offline_settings, progress=False, embedder=embedder)
    assert (summary.ok, summary.failed) == (2, 3)
    rows = rows_by_id(tmp_path / "emb")
    for vid in ("empty", "notes", "truncated"):
        assert rows[vid]["status"] == "failed" and rows[vid]["error"], rows[vid]
        assert rows[vid]["content"] is None
    assert "empty" in rows["empty"]["error"]
    assert rows["cat__natural"]["status"] == "ok"


def test_rerun_skips_done_and_manifest_input(tmp_path: Path, sample_catalogue: Path, offline_settings,
                                              embedder) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("video_id,path\n" + "".join(
        f"v{i},{os.path.relpath(p, tmp_path)}\n" for i, p in enumerate(sorted(sample_catalogue.glob("*.mp4"))[:3])
    ))
    first = embed(manifest, tmp_path / "emb", offline_settings, progress=False, embedder=embedder)
    second = embed(manifest, tmp_path / "emb", offline_settings, progress=False, embedder=embedder)
    assert (first.ok, first.skipped) == (3, 0)
    assert (second.ok, second.failed, second.skipped) == (0, 0, 3)
    assert sorted(rows_by_id(tmp_path / "emb")) == ["v0", "v1", "v2"]


def test_two_fingerprints_in_one_dataset_are_refused(embedded_catalogue: Path, sample_catalogue: Path,
                                                     tmp_path: Path) -> None:
    emb = tmp_path / "emb"
    shutil.copytree(embedded_catalogue, emb)
    other = load_settings(OFFLINE_CONFIG, {"model": {"gram_channels": 8}})
    with pytest.raises(dataset.DatasetError, match="already holds embeddings of model"):
        embed(sample_catalogue, emb, other, progress=False)


def test_duplicate_ids_in_manifest_are_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("video_id,path\na,x.mp4\na,y.mp4\n")
    with pytest.raises(ValueError, match="repeats video_id"):
        list_sources(manifest)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "vidstyle", *args]


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_gives_every_video_once(tmp_path: Path, sample_catalogue: Path) -> None:
    """Half the sample catalogue: enough for parts before and after the kill, and half the rerun's time."""
    src, out = tmp_path / "src", tmp_path / "emb"
    videos = half_catalogue(sample_catalogue, src)
    env = os.environ | {"VIDSTYLE_EMBED__PART_ROWS": "2", "VIDSTYLE_MODEL__BATCH_SIZE": "4",
                        "VIDSTYLE_DECODE__WORKERS": "1"}
    cmd = _cli("embed", str(src), "--out", str(out), "--config", str(OFFLINE_CONFIG), "--no-progress")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not dataset.parts(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the job finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = rows_by_id(out)
    total = len(videos)
    assert 0 < len(partial) < total
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipped {len(partial)} already done" in rerun.stdout
    rows = rows_by_id(out)
    assert len(rows) == total and all(r["status"] == "ok" for r in rows.values())
    assert not list(out.glob(".*.tmp"))


def test_cli_user_errors_are_one_line(tmp_path: Path) -> None:
    res = subprocess.run(_cli("embed", str(tmp_path / "missing"), "--out", str(tmp_path / "o"),
                              "--config", str(OFFLINE_CONFIG)), capture_output=True, text=True)
    assert res.returncode != 0
    assert res.stderr.strip().startswith("error:") and "does not exist" in res.stderr
    assert "Traceback" not in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {backbone: resnet9000}\n")
    res = subprocess.run(_cli("embed", str(tmp_path), "--out", str(tmp_path / "o"), "--config", str(bad)),
                         capture_output=True, text=True)
    assert res.returncode != 0 and "Traceback" not in res.stderr and "backbone" in res.stderr
