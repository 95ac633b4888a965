"""`vidstyle serve INDEX_DIR` with no --config embeds uploads with the model the index's dataset records."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server import Server, copy_catalogue


def test_uploads_use_the_recorded_model_without_a_config(served_index: tuple[Path, Path], sample_catalogue: Path,
                                                         tmp_path: Path) -> None:
    _, index = copy_catalogue(*served_index, tmp_path)
    server = Server(index, None, tmp_path / "server.log", config=None).start()  # the default config is VGG19
    try:
        video = sorted(sample_catalogue.glob("*.mp4"))[0]
        with httpx.Client(base_url=server.url, timeout=120.0) as client, video.open("rb") as fh:
            response = client.post("/v1/search", params={"space": "content", "k": 1},
                                   files={"file": (video.name, fh, "video/mp4")})
        assert response.status_code == 200, response.text
        best = response.json()["results"][0]
        assert best["video_id"] == video.stem and best["score"] > 0.9999
    finally:
        server.stop()
