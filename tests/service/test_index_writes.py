"""The service's index write path on a real server: a write rewrites no index file (it goes to the write-ahead
log), a background compaction folds the writes in once `index.compact_after` pile up, and a kill -9 loses
nothing that was acknowledged."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import API_KEY, Server, copy_catalogue
from vidstyle.indexing import writelog

pytestmark = pytest.mark.slow

QUERY = "cat__sepia"
N_VIDEOS = 16
HEADERS = {"X-API-Key": API_KEY}


def manifest(index_dir: Path) -> dict:
    return json.loads((index_dir / "manifest.json").read_text())


def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_writes_are_logged_compacted_in_the_background_and_survive_kill_9(
    served_index: tuple[Path, Path], tmp_path: Path
) -> None:
    emb, index = copy_catalogue(*served_index, tmp_path)
    before = manifest(index)
    log = tmp_path / "server.log"
    srv = Server(index, emb, log, env={"VIDSTYLE_INDEX__COMPACT_AFTER": "3"}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=120, headers=HEADERS) as c:
            image = c.get(f"/v1/videos/{QUERY}/thumbnail").content
            assert c.post("/v1/videos", data={"video_id": "w0"}, files={"file": ("f.jpg", image)}).status_code == 201
            assert c.get("/v1/videos/w0/similar", params={"k": 3}).status_code == 200  # visible at once
            assert manifest(index) == before, "a write rewrote the index files"
            assert sum(s.path.stat().st_size for s in writelog.segments(index)) > 0
            assert c.post("/v1/videos", data={"video_id": "w1"}, files={"file": ("f.jpg", image)}).status_code == 201
            assert c.delete("/v1/videos/w0").status_code == 200  # the third write: a compaction starts
            assert wait_for(lambda: manifest(index)["log"]["seq"] >= 3), "no background compaction"
            after = manifest(index)
            assert after["count"] == N_VIDEOS + 1 and after["spaces"] != before["spaces"]
            assert c.post("/v1/videos", data={"video_id": "w2"}, files={"file": ("f.jpg", image)}).status_code == 201
            assert c.delete(f"/v1/videos/{QUERY}").status_code == 200
        assert srv.proc is not None
        srv.proc.kill()  # kill -9: the last two writes live only in the log
        srv.proc.wait()
    finally:
        srv.stop()
    assert manifest(index)["log"]["seq"] == 3
    again = Server(index, emb, log).start()
    try:
        with httpx.Client(base_url=again.url, timeout=60) as c:
            assert c.get("/v1/videos").json()["total"] == N_VIDEOS + 1  # +w1 +w2 -QUERY
            assert c.get("/v1/videos/w2/similar").status_code == 200
            assert c.get("/v1/videos/w1/similar").status_code == 200
            assert c.get("/v1/videos/w0/similar").status_code == 404
            assert c.get(f"/v1/videos/{QUERY}/similar").status_code == 404
    finally:
        again.stop()  # a clean shutdown folds the replayed writes in
    assert manifest(index)["count"] == N_VIDEOS + 1
