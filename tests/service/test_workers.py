"""`serve.workers: 2` on a real server: two uvicorn worker processes share one INDEX_DIR and EMB_DIR; a write
through either is seen by every later request, whichever process answers it, through a background compaction,
and after a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.service.test_index_writes import HEADERS, N_VIDEOS, QUERY, manifest, wait_for
from tests.support.processes import children
from tests.support.server import Server, copy_catalogue
from vidstyle.core.settings import Settings
from vidstyle.indexing import IndexSet
from vidstyle.service.api.catalog import Catalog

pytestmark = pytest.mark.slow

READS = 8  # fresh connections after each write: the kernel hands each to either worker


def each_read(url: str, path: str) -> list[int]:
    """Status codes of READS requests, each on a new connection."""
    return [httpx.get(url + path, timeout=60).status_code for _ in range(READS)]


def totals(url: str) -> set[int]:
    return {httpx.get(url + "/v1/videos", timeout=60).json()["total"] for _ in range(READS)}


def test_two_workers_share_the_index_and_see_each_others_writes(served_index: tuple[Path, Path],
                                                                 tmp_path: Path) -> None:
    emb, index = copy_catalogue(*served_index, tmp_path)
    log = tmp_path / "server.log"
    env = {"VIDSTYLE_SERVE__WORKERS": "2", "VIDSTYLE_INDEX__COMPACT_AFTER": "3"}
    srv = Server(index, emb, log, env=env).start(timeout=180)
    try:
        assert srv.proc is not None
        assert len(children(srv.proc.pid)) >= 2, "uvicorn did not start two worker processes"
        with httpx.Client(base_url=srv.url, timeout=120, headers=HEADERS) as c:
            image = c.get(f"/v1/videos/{QUERY}/thumbnail").content
            assert c.post("/v1/videos", data={"video_id": "w0"}, files={"file": ("f.jpg", image)}).status_code == 201
        assert each_read(srv.url, "/v1/videos/w0/similar") == [200] * READS
        assert each_read(srv.url, "/v1/videos/w0/thumbnail") == [200] * READS  # the dataset's new row too
        assert totals(srv.url) == {N_VIDEOS + 1}

        assert httpx.delete(f"{srv.url}/v1/videos/{QUERY}", headers=HEADERS, timeout=60).status_code == 200
        assert each_read(srv.url, f"/v1/videos/{QUERY}/similar") == [404] * READS
        for _ in range(READS):
            similar = httpx.get(f"{srv.url}/v1/videos/w0/similar", params={"k": 20}, timeout=60).json()
            assert QUERY not in {r["video_id"] for r in similar["results"]}
        # the third write wakes a compaction in the worker that made it; the other takes in its files
        assert httpx.post(f"{srv.url}/v1/videos", data={"video_id": "w1"}, files={"file": ("f.jpg", image)},
                          headers=HEADERS, timeout=120).status_code == 201
        assert wait_for(lambda: manifest(index)["log"]["seq"] >= 3), "no background compaction"
        assert each_read(srv.url, "/v1/videos/w1/similar") == [200] * READS
        assert totals(srv.url) == {N_VIDEOS + 1}  # +w0 +w1 -QUERY
        assert httpx.delete(f"{srv.url}/v1/videos/w0", headers=HEADERS, timeout=60).status_code == 200
        assert each_read(srv.url, "/v1/videos/w0/similar") == [404] * READS
    finally:
        srv.stop()
    assert manifest(index)["count"] == N_VIDEOS  # folded in at shutdown
    after = IndexSet.load(index, Settings().index)
    assert "w1" in after and "w0" not in after and QUERY not in after
    dataset = Catalog(emb)
    dataset.load()
    assert dataset.ids() == set(after.video_ids())  # the two workers kept dataset and index in step
