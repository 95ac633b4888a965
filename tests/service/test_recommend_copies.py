"""`recommend` over HTTP never returns a copy of the query, and says why with `explain=1`."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import numpy as np

from tests.service.test_api import auth
from vidstyle.media.samples import write_video


def _mirrored_copy(src: Path, out: Path) -> bytes:
    """The same footage, mirrored and re-encoded (H.264): a copy a recommender must not show."""
    with av.open(str(src)) as container:
        frames = [np.ascontiguousarray(f.to_ndarray(format="rgb24")[:, ::-1]) for f in container.decode(video=0)]
    return write_video(out, frames, fps=10, gop=10).read_bytes()


def test_a_copy_is_dropped_with_its_reason(client: httpx.Client, sample_catalogue: Path, tmp_path: Path) -> None:
    video = _mirrored_copy(sample_catalogue / "city__poster.mp4", tmp_path / "copy.mp4")
    r = client.post("/v1/videos", data={"video_id": "uploads/city-mirrored"}, files={"file": ("c.mp4", video)},
                    headers=auth())
    assert r.status_code == 201, r.text
    try:
        for query, copy in (("uploads/city-mirrored", "city__poster"), ("city__poster", "uploads/city-mirrored")):
            # near_duplicate=1: the content rule alone would drop this copy (its content score is over 0.9)
            body = client.get(f"/v1/videos/{query}/recommend",
                              params={"k": 10, "explain": 1, "near_duplicate": 1}).json()
            assert body["ranking"]["copy_check"] is True
            assert copy not in [x["video_id"] for x in body["results"]]
            dropped = {d["video_id"]: d for d in body["dropped"]}
            assert dropped[copy]["reason"] == "copy"
            assert dropped[copy]["copy_score"] >= body["ranking"]["copy_threshold"]
            assert all(x["copy_score"] is None or x["copy_score"] < body["ranking"]["copy_threshold"]
                       for x in body["results"])
        off = client.get("/v1/videos/city__poster/recommend",
                         params={"k": 10, "copy_threshold": 2, "near_duplicate": 1}).json()
        assert "uploads/city-mirrored" in [x["video_id"] for x in off["results"]]  # it was the copy check
        assert off["dropped"] is None  # no explain, no list
    finally:
        client.delete("/v1/videos/uploads/city-mirrored", headers=auth())
