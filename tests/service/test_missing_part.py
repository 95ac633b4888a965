"""A dataset part removed from EMB_DIR behind the service's back: deleting its video is a clear 409, and nothing
else is lost (real server, real dataset)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.support.server import API_KEY

pytestmark = pytest.mark.slow

QUERY = "cat__sepia"
KEY = {"X-API-Key": API_KEY}


def part_of(emb_dir: Path, video_id: str) -> Path:
    (part,) = [p for p in sorted(emb_dir.glob("part-*.parquet"))
               if video_id in pq.read_table(p, columns=["video_id"]).column("video_id").to_pylist()]
    return part


def snapshot(emb_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in emb_dir.glob("part-*.parquet")}


@pytest.mark.parametrize("damage", ["removed", "truncated"])
def test_delete_of_a_video_whose_part_is_gone(
    client: httpx.Client, server_dirs: tuple[Path, Path], damage: str, tmp_path: Path
) -> None:
    emb_dir = server_dirs[0]
    image = client.get(f"/v1/videos/{QUERY}/thumbnail").content
    vid = f"orphan-{damage}"
    assert client.post("/v1/videos", data={"video_id": vid}, files={"file": ("f.jpg", image)},
                       headers=KEY).status_code == 201
    part = part_of(emb_dir, vid)
    kept = shutil.copy(part, tmp_path / part.name)
    if damage == "removed":
        part.unlink()
    else:
        part.write_bytes(part.read_bytes()[:100])
    others = snapshot(emb_dir)
    total = client.get("/v1/videos").json()["total"]

    for attempt in (client.delete(f"/v1/videos/{vid}", headers=KEY),
                    client.post("/v1/videos", data={"video_id": vid}, files={"file": ("f.jpg", image)},
                                headers=KEY)):
        assert attempt.status_code == 409, attempt.text
        detail = attempt.json()["detail"]
        word = "removed" if damage == "removed" else "unreadable"
        assert part.name in detail and word in detail and "restart" in detail, detail

    # Nothing else changed: the other parts, the catalogue, the other videos' reads and writes.
    assert snapshot(emb_dir) == others
    assert client.get("/v1/videos").json()["total"] == total
    assert client.get(f"/v1/videos/{QUERY}/similar").status_code == 200
    assert client.get(f"/v1/videos/{QUERY}/recommend").status_code == 200
    assert client.get(f"/v1/videos/{vid}/similar").status_code == 200  # still indexed until the part is back
    other = f"other-{damage}"
    assert client.post("/v1/videos", data={"video_id": other}, files={"file": ("f.jpg", image)},
                       headers=KEY).status_code == 201
    assert client.delete(f"/v1/videos/{other}", headers=KEY).status_code == 200

    # With the part restored, the delete goes through.
    shutil.copy(kept, part)
    assert client.delete(f"/v1/videos/{vid}", headers=KEY).status_code == 200
    assert client.get(f"/v1/videos/{vid}").status_code == 404
    assert not part.exists()
