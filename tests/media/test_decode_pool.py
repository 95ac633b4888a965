"""The decode pool isolates bad videos: a timeout or a blown memory cap fails one video, the next succeeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.processes import children
from vidstyle.media.decode_pool import DecodeJob, DecodePool
from vidstyle.media.samples import write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pool")
    rng = np.random.default_rng(0)
    small = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(20)]
    # Noise at 4K: slow to decode and ~25 MB per RGB frame.
    big = [rng.integers(0, 255, (2160, 3840, 3), dtype=np.uint8) for _ in range(4)]
    return {
        "small": write_video(out / "small.mp4", small, fps=10),
        "big": write_video(out / "big.mp4", big, fps=2, gop=4),
    }


def run(pool: DecodePool, paths: list[Path]) -> dict[str, object]:
    jobs = (DecodeJob(f"{i}:{p.stem}", p) for i, p in enumerate(paths))
    return {job.key: res for job, res in pool.imap_unordered(jobs)}


def pool(**kw: float) -> DecodePool:
    options = {"workers": 1, "timeout_s": 60.0, "memory_mb": 2048, "size": 64, "max_frames": 4,
               "min_gap_s": 0.1, "thumbnail_px": 32, "max_file_mb": 100} | kw
    return DecodePool(**options)


def test_timeout_fails_one_video_and_the_pool_goes_on(videos: dict[str, Path]) -> None:
    with pool(timeout_s=0.3) as p:
        # The first job also pays for the worker's start-up, so it times out for sure.
        results = run(p, [videos["big"], videos["small"], videos["small"]])
    assert "timed out" in results["0:big"]
    assert not isinstance(results["2:small"], str) and results["2:small"].frames.shape[1:] == (64, 64, 3)


def test_memory_cap_fails_one_video_and_the_pool_goes_on(videos: dict[str, Path]) -> None:
    with pool(memory_mb=80) as p:
        results = run(p, [videos["big"], videos["small"]])
    assert isinstance(results["0:big"], str), "decoding 4K frames cannot fit in 80 MiB"
    print("reason:", results["0:big"])
    assert not isinstance(results["1:small"], str)


def test_results_cover_every_job_once(videos: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 1000)
    jobs = [videos["small"], tmp_path / "bad.mp4", videos["small"], tmp_path / "missing.mp4"] * 2
    with pool(workers=2) as p:
        results = run(p, jobs)
    assert len(results) == len(jobs)
    assert sum(isinstance(r, str) for r in results.values()) == 4


_ORPHAN_SCRIPT = """
import sys
from pathlib import Path
from vidstyle.media.decode_pool import DecodeJob, DecodePool
pool = DecodePool(workers=2, timeout_s=60, memory_mb=2048, size=64, max_frames=4, min_gap_s=0.1, thumbnail_px=32,
                  max_file_mb=100)
for job, res in pool.imap_unordered(DecodeJob(str(i), Path(sys.argv[1])) for i in range(10_000)):
    print("decoded", flush=True)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_workers_exit_at_once_and_quietly_when_the_parent_is_killed(videos: dict[str, Path], tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "stderr.log"
    with log.open("wb") as err:
        parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT, str(videos["big"])],
                                  stdout=subprocess.PIPE, stderr=err)
    assert parent.stdout is not None and parent.stdout.readline().strip() == b"decoded"
    time.sleep(0.5)  # both workers busy with the next 4K videos
    workers = children(parent.pid)
    assert len(workers) >= 2
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.05)
    alive = [w for w in workers if Path(f"/proc/{w}/stat").exists()
             and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"decode workers outlived their parent: {alive}"
    assert "Traceback" not in log.read_text()
