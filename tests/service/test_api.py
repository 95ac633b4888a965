"""The HTTP service against a real index of real videos, served by `vidstyle serve` on loopback."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.support.server import API_KEY, MAX_UPLOAD_MB, Server, copy_catalogue
from vidstyle.service.api.uploads import check_api_key, sniff_suffix

pytestmark = pytest.mark.slow
# The fixtures (served_index, server_dirs, server, client) live beside the helpers they use.

QUERY = "cat__sepia"
N_VIDEOS = 16  # conftest: 4 contents x 4 looks


def exact_neighbours(emb_dir: Path, video_id: str, space: str, k: int) -> list[tuple[str, float]]:
    """Brute force over the dataset's ok rows (unit vectors, cosine), the query left out."""
    table = pq.read_table(emb_dir, columns=["video_id", "status", space])
    ok = [i for i, status in enumerate(table.column("status").to_pylist()) if status == "ok"]
    ids = [table.column("video_id")[i].as_py() for i in ok]
    vecs = np.stack([np.asarray(table.column(space)[i].as_py(), np.float32) for i in ok])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    scores = vecs @ vecs[ids.index(video_id)]
    order = [i for i in np.argsort(-scores) if ids[i] != video_id][:k]
    return [(ids[i], float(scores[i])) for i in order]


def auth(key: str = API_KEY) -> dict[str, str]:
    return {"X-API-Key": key}


def png_bytes(seed: int = 0, size: tuple[int, int] = (96, 128)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray((rng.random((*size, 3)) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


# -- pure helpers (no server) --------------------------------------------------------------------------------


def test_sniff_suffix_trusts_bytes_not_names() -> None:
    assert sniff_suffix(png_bytes()) == ".png"
    assert sniff_suffix(b"\xff\xd8\xff\xe0" + b"\0" * 20) == ".jpg"
    assert sniff_suffix(b"\0\0\0\x20ftypisom" + b"\0" * 20) == ".mp4"
    assert sniff_suffix(b"\x1a\x45\xdf\xa3" + b"\0" * 20) == ".mkv"
    assert sniff_suffix(b"RIFF\0\0\0\0AVI LIST") == ".avi"
    assert sniff_suffix(b"GIF89a") is None
    assert sniff_suffix(b"hello, not a video") is None


def test_api_key_check() -> None:
    assert check_api_key(None, API_KEY).status_code == 403  # no key configured: writes disabled, not open
    assert check_api_key("k", None).status_code == 401
    assert check_api_key("k", "x").status_code == 401
    assert check_api_key("k", "k") is None


# -- read routes ---------------------------------------------------------------------------------------------


def test_healthz_docs_openapi(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "swagger" in client.get("/docs").text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/healthz", "/v1/search", "/v1/videos", "/v1/videos/{video_id}/similar",
                 "/v1/videos/{video_id}/recommend", "/v1/videos/{video_id}", "/v1/videos/{video_id}/thumbnail"):
        assert path in paths, path
    assert "delete" in paths["/v1/videos/{video_id}"]


@pytest.mark.parametrize("space", ["style", "content"])
def test_similar_matches_exact_search(client: httpx.Client, server_dirs: tuple[Path, Path], space: str) -> None:
    r = client.get(f"/v1/videos/{QUERY}/similar", params={"space": space, "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["video_id"] == QUERY and body["space"] == space
    results = body["results"]
    assert len(results) == 5 and all(set(x) == {"video_id", "score"} for x in results)
    assert QUERY not in [x["video_id"] for x in results]
    scores = [x["score"] for x in results]
    assert scores == sorted(scores, reverse=True)
    # 16 vectors: the index is exact, so it must agree with brute force over the dataset.
    expected = exact_neighbours(server_dirs[0], QUERY, space, 5)
    assert [x["video_id"] for x in results] == [v for v, _ in expected]
    np.testing.assert_allclose(scores, [s for _, s in expected], atol=1e-4)


def test_similar_default_k_and_style_neighbours_share_the_look(client: httpx.Client) -> None:
    body = client.get(f"/v1/videos/{QUERY}/similar", params={"space": "style"}).json()
    assert len(body["results"]) == min(10, N_VIDEOS - 1)
    content = client.get(f"/v1/videos/{QUERY}/similar", params={"space": "content", "k": 1}).json()
    assert content["results"][0]["video_id"].startswith("cat__")  # same subject, another look


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (f"/v1/videos/{QUERY}/similar", {"space": "colour"}, 422),
        (f"/v1/videos/{QUERY}/similar", {"k": 0}, 422),
        (f"/v1/videos/{QUERY}/similar", {"k": -3}, 422),
        (f"/v1/videos/{QUERY}/similar", {"k": "ten"}, 422),
        (f"/v1/videos/{QUERY}/similar", {"k": 1_000_000}, 422),  # over serve.max_k
        ("/v1/videos/no-such-video/similar", {"space": "style"}, 404),
        (f"/v1/videos/{QUERY}/recommend", {"k": 0}, 422),
        (f"/v1/videos/{QUERY}/recommend", {"style_weight": "heavy"}, 422),
        (f"/v1/videos/{QUERY}/recommend", {"near_duplicate": 2}, 422),
        ("/v1/videos/no-such-video/recommend", {}, 404),
        ("/v1/videos/no-such-video", {}, 404),
        ("/v1/videos/no-such-video/thumbnail", {}, 404),
        (f"/v1/videos/{QUERY}/thumbnail", {"i": 999}, 404),
        (f"/v1/videos/{QUERY}/thumbnail", {"i": -1}, 422),
        ("/v1/videos", {"limit": 0}, 422),
        ("/v1/videos", {"offset": -1}, 422),
        # No CIN checkpoint in this server's config: stylisation is not there (the page hides it).
        ("/v1/stylize/render", {"content": QUERY, "like": QUERY}, 404),
        ("/v1/stylize/render", {"content": QUERY}, 422),
    ],
)
def test_bad_queries(client: httpx.Client, path: str, params: dict, status: int) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert "detail" in r.json()


def test_recommend_ranks_by_the_blend_within_the_content_threshold(client: httpx.Client) -> None:
    body = client.get(f"/v1/videos/{QUERY}/recommend", params={"k": 6}).json()
    ranking = body["ranking"]
    assert body["video_id"] == QUERY and body["space"] == "style"
    assert ranking == {"style_weight": 1.0, "content_weight": -0.5, "near_duplicate_content": 1.0, "candidates": 100,
                       "copy_threshold": 0.211, "copy_background_weight": 1.0, "copy_check": True, "style_expansion": 0}
    results = body["results"]
    assert 0 < len(results) <= 6 and QUERY not in [r["video_id"] for r in results]
    expanded = client.get(f"/v1/videos/{QUERY}/recommend", params={"k": 6, "style_expansion": 3}).json()
    assert expanded["ranking"]["style_expansion"] == 3 and QUERY not in [r["video_id"] for r in expanded["results"]]
    assert client.get(f"/v1/videos/{QUERY}/recommend", params={"style_expansion": -1}).status_code == 422
    for r in results:
        assert r["content_score"] <= ranking["near_duplicate_content"]
        assert r["score"] == pytest.approx(r["style_score"] - 0.5 * r["content_score"], abs=1e-5)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    # The style scores are the similar route's style scores.
    style = {x["video_id"]: x["score"] for x in
             client.get(f"/v1/videos/{QUERY}/similar", params={"space": "style", "k": 15}).json()["results"]}
    for r in results:
        assert r["style_score"] == pytest.approx(style[r["video_id"]], abs=1e-5)


def test_recommend_parameters_override_config(client: httpx.Client) -> None:
    # A threshold below every content score drops every candidate.
    assert client.get(f"/v1/videos/{QUERY}/recommend", params={"near_duplicate": -1}).json()["results"] == []
    # Pure style weight: the order is the style order, minus near-duplicates.
    body = client.get(f"/v1/videos/{QUERY}/recommend",
                      params={"style_weight": 1, "content_weight": 0, "near_duplicate": 1, "k": 5}).json()
    style = client.get(f"/v1/videos/{QUERY}/similar", params={"space": "style", "k": 5}).json()["results"]
    assert [r["video_id"] for r in body["results"]] == [r["video_id"] for r in style]
    assert body["ranking"]["style_weight"] == 1 and body["ranking"]["near_duplicate_content"] == 1


def test_list_videos_pages_and_filters(client: httpx.Client) -> None:
    first = client.get("/v1/videos", params={"limit": 10}).json()
    assert first["total"] == N_VIDEOS and len(first["items"]) == 10
    rest = client.get("/v1/videos", params={"offset": 10, "limit": 10}).json()
    ids = [x["video_id"] for x in first["items"] + rest["items"]]
    assert len(ids) == N_VIDEOS and ids == sorted(ids) and len(set(ids)) == N_VIDEOS
    cats = client.get("/v1/videos", params={"q": "CAT"}).json()
    assert cats["total"] == 4 and all(x["video_id"].startswith("cat__") for x in cats["items"])
    assert all(x["n_frames"] >= 1 for x in cats["items"])


def test_video_detail_and_thumbnails(client: httpx.Client) -> None:
    detail = client.get(f"/v1/videos/{QUERY}").json()
    assert detail["video_id"] == QUERY and detail["thumbnails"] == detail["n_frames"] >= 2
    assert len(detail["frame_times"]) == detail["n_frames"]
    for i in (0, detail["thumbnails"] - 1):
        r = client.get(f"/v1/videos/{QUERY}/thumbnail", params={"i": i})
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(r.content)).format == "JPEG"


# -- search by upload ----------------------------------------------------------------------------------------


def test_search_with_a_catalogue_video_finds_itself(client: httpx.Client, sample_catalogue: Path) -> None:
    video = (sample_catalogue / f"{QUERY}.mp4").read_bytes()
    for space in ("content", "style"):
        r = client.post("/v1/search", params={"space": space, "k": 3}, files={"file": ("clip.mp4", video)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["space"] == space and len(body["results"]) == 3 and "video_id" not in body
        assert body["results"][0]["video_id"] == QUERY
        assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-3)


def test_search_with_an_image(client: httpx.Client) -> None:
    thumb = client.get(f"/v1/videos/{QUERY}/thumbnail").content  # a JPEG of a keyframe
    r = client.post("/v1/search", params={"space": "content", "k": 4}, files={"file": ("frame.jpg", thumb)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_frames"] == 1 and len(body["results"]) == 4
    assert body["results"][0]["video_id"].startswith("cat__")
    r = client.post("/v1/search", files={"file": ("noise.png", png_bytes(), "image/png")})
    assert r.status_code == 200 and r.json()["space"] == "style"


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("notes.txt", b"just some text, certainly not a video" * 20, 415, "unsupported"),
        ("fake.mp4", b"\x00" * 4096, 415, "unsupported"),  # the name does not make it a video
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096, 422, "decod"),
        ("broken.mp4", b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 64, 422, "decod"),
        ("empty.png", b"", 422, "empty"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_UPLOAD_MB * 2**20), 413, "limit"),
        ("huge.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * MAX_UPLOAD_MB * 2**20), 413, "limit"),
    ],
)
def test_search_rejects_bad_uploads(client: httpx.Client, name: str, data: bytes, status: int, words: str) -> None:
    r = client.post("/v1/search", files={"file": (name, data)})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"].lower()


def test_search_stops_reading_a_chunked_upload_at_the_cap(client: httpx.Client) -> None:
    """No Content-Length to refuse up front: the guard counts the bytes as they arrive."""
    def body():  # noqa: ANN202
        yield (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
               b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n")
        for _ in range(8 * MAX_UPLOAD_MB * 16):  # 8x the cap, in 64 KiB chunks
            yield b"\0" * 65536
        yield b"\r\n--xyz--\r\n"

    r = client.post("/v1/search", content=body(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert client.get("/healthz").status_code == 200


def test_search_bad_parameters(client: httpx.Client) -> None:
    files = {"file": ("noise.png", png_bytes())}
    assert client.post("/v1/search", params={"space": "plot"}, files=files).status_code == 422
    assert client.post("/v1/search", params={"k": 0}, files=files).status_code == 422
    assert client.post("/v1/search").status_code == 422  # no file


# -- writes --------------------------------------------------------------------------------------------------


def test_writes_need_the_key(client: httpx.Client, sample_catalogue: Path) -> None:
    video = (sample_catalogue / "coffee__poster.mp4").read_bytes()
    for headers, status in (({}, 401), (auth("wrong-key"), 401), (auth(API_KEY[:-1]), 401)):
        r = client.post("/v1/videos", data={"video_id": "sneaky"}, files={"file": ("v.mp4", video)}, headers=headers)
        assert r.status_code == status, r.text
        assert client.delete(f"/v1/videos/{QUERY}", headers=headers).status_code == status
    assert client.get("/v1/videos/sneaky/similar").status_code == 404
    assert client.get(f"/v1/videos/{QUERY}/similar").status_code == 200


def test_write_validation(client: httpx.Client, sample_catalogue: Path) -> None:
    video = (sample_catalogue / "coffee__poster.mp4").read_bytes()
    for bad_id in ("", " padded", "tab\there", "x" * 300):
        r = client.post("/v1/videos", data={"video_id": bad_id}, files={"file": ("v.mp4", video)}, headers=auth())
        assert r.status_code == 422, (bad_id, r.text)
    r = client.post("/v1/videos", data={"video_id": "junk"}, files={"file": ("v.bin", b"garbage" * 100)},
                    headers=auth())
    assert r.status_code == 415
    assert client.delete("/v1/videos/no-such-video", headers=auth()).status_code == 404


def test_add_replace_delete(client: httpx.Client, server_dirs: tuple[Path, Path], sample_catalogue: Path) -> None:
    emb_dir = server_dirs[0]
    video = (sample_catalogue / "city__poster.mp4").read_bytes()
    r = client.post("/v1/videos", data={"video_id": "uploads/new-city"}, files={"file": ("c.mp4", video)},
                    headers=auth())
    assert r.status_code == 201, r.text
    assert r.json() == {"video_id": "uploads/new-city", "n_frames": r.json()["n_frames"], "replaced": False}
    # A slash in the id is fine: the routes take the rest of the path.
    body = client.get("/v1/videos/uploads/new-city/similar", params={"space": "content", "k": 1}).json()
    assert body["results"][0]["video_id"] == "city__poster" and body["results"][0]["score"] > 0.99
    assert client.get("/v1/videos/uploads%2Fnew-city/thumbnail").status_code == 200
    assert client.get("/v1/videos", params={"q": "new-city"}).json()["total"] == 1

    other = (sample_catalogue / "coffee__natural.mp4").read_bytes()
    r = client.post("/v1/videos", data={"video_id": "uploads/new-city"}, files={"file": ("c.mp4", other)},
                    headers=auth())
    assert r.status_code == 201 and r.json()["replaced"] is True
    body = client.get("/v1/videos/uploads/new-city/similar", params={"space": "content", "k": 1}).json()
    assert body["results"][0]["video_id"] == "coffee__natural"
    ids = pq.read_table(emb_dir, columns=["video_id"]).column("video_id").to_pylist()
    assert ids.count("uploads/new-city") == 1 and len(ids) == len(set(ids))

    assert client.delete("/v1/videos/uploads/new-city", headers=auth()).json() == {
        "video_id": "uploads/new-city", "deleted": True}
    assert client.get("/v1/videos/uploads/new-city/similar").status_code == 404
    assert client.delete("/v1/videos/uploads/new-city", headers=auth()).status_code == 404
    assert "uploads/new-city" not in pq.read_table(emb_dir, columns=["video_id"]).column("video_id").to_pylist()
    assert client.get("/v1/videos").json()["total"] == N_VIDEOS


def test_queries_keep_answering_during_a_write(client: httpx.Client, sample_catalogue: Path) -> None:
    video = (sample_catalogue / "astronaut__poster.mp4").read_bytes()
    outcome: dict[str, httpx.Response] = {}

    def write() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=120) as c:
            outcome["r"] = c.post("/v1/videos", data={"video_id": "during-write"},
                                  files={"file": ("a.mp4", video)}, headers=auth())

    writer = threading.Thread(target=write)
    writer.start()
    latencies = []
    while writer.is_alive() or not latencies:
        t0 = time.perf_counter()
        r = client.get(f"/v1/videos/{QUERY}/similar", params={"space": "style", "k": 5})
        latencies.append(time.perf_counter() - t0)
        assert r.status_code == 200
    writer.join()
    assert outcome["r"].status_code == 201, outcome["r"].text
    # The upload decodes and runs the model for a second or more; queries must not queue behind it.
    assert len(latencies) >= 5 and max(latencies) < 1.0, (len(latencies), max(latencies))
    assert client.delete("/v1/videos/during-write", headers=auth()).status_code == 200


def test_metrics(client: httpx.Client) -> None:
    client.get(f"/v1/videos/{QUERY}/similar")
    client.get("/v1/videos/nope/similar")
    text = client.get("/metrics").text
    assert 'vidstyle_http_requests_total{method="GET",route="/v1/videos/{video_id}/similar",status="200"}' in text
    assert 'vidstyle_http_requests_total{method="GET",route="/v1/videos/{video_id}/similar",status="404"}' in text
    assert 'vidstyle_http_request_duration_seconds_bucket{le="0.005",method="GET",' \
           'route="/v1/videos/{video_id}/similar"}' in text
    assert 'vidstyle_index_videos{space="style"}' in text and 'vidstyle_index_videos{space="content"}' in text
    assert "vidstyle_embed_seconds_count" in text
    assert "/v1/videos/nope" not in text  # raw paths never become labels


# -- persistence across a restart ----------------------------------------------------------------------------


def test_restart_keeps_added_and_removed_videos(
    served_index: tuple[Path, Path], sample_catalogue: Path, tmp_path: Path
) -> None:
    emb, index = copy_catalogue(*served_index, tmp_path)
    log = tmp_path / "server.log"
    video = (sample_catalogue / "city__sepia.mp4").read_bytes()
    first = Server(index, emb, log).start()
    try:
        with httpx.Client(base_url=first.url, timeout=60) as c:
            assert c.post("/v1/videos", data={"video_id": "added"}, files={"file": ("v.mp4", video)},
                          headers=auth()).status_code == 201
            assert c.delete(f"/v1/videos/{QUERY}", headers=auth()).status_code == 200
            before = c.get("/v1/videos/added/similar", params={"space": "style", "k": 5}).json()
    finally:
        first.stop()

    # Restarted without a key: reads see the writes; writes are now disabled (403), not open.
    second = Server(index, emb, log, api_key=None).start()
    try:
        with httpx.Client(base_url=second.url, timeout=60) as c:
            assert c.get("/v1/videos").json()["total"] == N_VIDEOS
            assert c.get(f"/v1/videos/{QUERY}/similar").status_code == 404
            after = c.get("/v1/videos/added/similar", params={"space": "style", "k": 5}).json()
            assert after == before
            assert c.get("/v1/videos/added/thumbnail").status_code == 200
            r = c.post("/v1/videos", data={"video_id": "x"}, files={"file": ("v.mp4", video)}, headers=auth())
            assert r.status_code == 403 and "disabled" in r.json()["detail"]
            assert c.delete("/v1/videos/added", headers=auth()).status_code == 403
    finally:
        second.stop()


def test_restart_repairs_an_index_behind_its_dataset(
    served_index: tuple[Path, Path], offline_settings, tmp_path: Path
) -> None:
    """A crash after the dataset write but before the index save: the next start brings the index in line."""
    from vidstyle.indexing import IndexSet

    emb, index = copy_catalogue(*served_index, tmp_path)
    stale = IndexSet.load(index, offline_settings.index)
    stale.remove([QUERY])
    stale.save(index)
    srv = Server(index, emb, tmp_path / "server.log").start()
    try:
        r = httpx.get(f"{srv.url}/v1/videos/{QUERY}/similar", timeout=30)
        assert r.status_code == 200 and len(r.json()["results"]) == 10
    finally:
        srv.stop()
    assert QUERY in IndexSet.load(index, offline_settings.index)


def test_serve_refuses_a_missing_index(tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "vidstyle", "serve", str(tmp_path / "nope")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr
