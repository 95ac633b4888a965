"""Upload limits beyond the byte cap (decoded pixels, a busy model) and the security headers, on real servers."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.support.server import API_KEY, Server, copy_catalogue
from vidstyle.service.api.uploads import frame_size

pytestmark = pytest.mark.slow

QUERY = "cat__sepia"
STATIC = Path(__file__).resolve().parents[2] / "service" / "static"


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """12,000 x 12,000 pixels in under 1 MB: flat colour with a few squares, which PNG compresses ~1000:1."""
    img = Image.new("RGB", (12_000, 12_000), (90, 120, 160))
    draw = ImageDraw.Draw(img)
    for i in range(0, 12_000, 600):
        draw.rectangle([i, i, i + 300, i + 300], fill=(200, 80, 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    assert len(buf.getvalue()) < 600_000
    return buf.getvalue()


def test_frame_size_reads_headers_only(huge_png: bytes, tmp_path: Path, sample_catalogue: Path) -> None:
    png = tmp_path / "huge.png"
    png.write_bytes(huge_png)
    assert frame_size(png) == (12_000, 12_000)
    assert frame_size(sample_catalogue / f"{QUERY}.mp4") == (192, 192)
    garbage = tmp_path / "x.mp4"
    garbage.write_bytes(b"\0\0\0\x20ftypisom" + b"\0" * 100)
    assert frame_size(garbage) is None  # the decoder reports that one


def test_a_small_file_with_huge_frames_is_refused_before_decoding(client: httpx.Client, huge_png: bytes) -> None:
    t0 = time.perf_counter()
    r = client.post("/v1/search", files={"file": ("huge.png", huge_png)})
    elapsed = time.perf_counter() - t0
    assert r.status_code == 413, r.text
    assert "12000 x 12000" in r.json()["detail"] and "serve.max_upload_pixels" in r.json()["detail"]
    assert elapsed < 3.0, elapsed  # decoding it took seconds (and a GB in the decode worker)
    r = client.post("/v1/videos", data={"video_id": "huge"}, files={"file": ("huge.png", huge_png)},
                    headers={"X-API-Key": API_KEY})
    assert r.status_code == 413 and client.get("/v1/videos/huge").status_code == 404


@pytest.fixture(scope="module")
def tight_server(served_index: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A copy of the catalogue (one writer per INDEX_DIR) with a pixel cap below the sample videos' 192 x 192 and
    one upload at a time."""
    _, index = copy_catalogue(*served_index, tmp_path_factory.mktemp("tight-catalogue"))
    srv = Server(index, None, tmp_path_factory.mktemp("tight") / "server.log", env={
        "VIDSTYLE_SERVE__MAX_UPLOAD_PIXELS": str(180 * 180),
        "VIDSTYLE_SERVE__MAX_PENDING_EMBEDS": "1",
        "VIDSTYLE_SERVE__RETRY_AFTER_S": "7",
    }).start()
    yield srv
    srv.stop()


def test_a_video_over_the_pixel_cap_is_refused(tight_server: Server, sample_catalogue: Path) -> None:
    video = (sample_catalogue / f"{QUERY}.mp4").read_bytes()
    r = httpx.post(f"{tight_server.url}/v1/search", files={"file": ("v.mp4", video)}, timeout=60)
    assert r.status_code == 413, r.text
    assert "192 x 192" in r.json()["detail"] and "32,400" in r.json()["detail"]


def test_a_busy_model_answers_503_with_retry_after(tight_server: Server) -> None:
    url = tight_server.url
    thumb = httpx.get(f"{url}/v1/videos/{QUERY}/thumbnail", timeout=30).content  # 160 x 160: under the cap
    assert httpx.post(f"{url}/v1/search", files={"file": ("t.jpg", thumb)}, timeout=120).status_code == 200
    answers: list[httpx.Response] = []

    def upload() -> None:
        answers.append(httpx.post(f"{url}/v1/search", files={"file": ("t.jpg", thumb)}, timeout=120))

    for _ in range(5):  # bounded: a few bursts until one finds the model busy
        burst = [threading.Thread(target=upload) for _ in range(4)]
        for t in burst:
            t.start()
        for t in burst:
            t.join(timeout=120)
        if any(r.status_code == 503 for r in answers):
            break
    busy = [r for r in answers if r.status_code == 503]
    assert busy and {r.status_code for r in answers} <= {200, 503}, [r.status_code for r in answers]
    assert all(r.headers.get("retry-after") == "7" and "waiting" in r.json()["detail"] for r in busy)


# -- security headers -----------------------------------------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/", {}, 200),
        ("GET", "/static/app.js", {}, 200),
        ("GET", "/static/style.css", {}, 200),
        ("GET", "/healthz", {}, 200),
        ("GET", "/openapi.json", {}, 200),
        ("GET", f"/v1/videos/{QUERY}/similar", {}, 200),
        ("GET", f"/v1/videos/{QUERY}/thumbnail", {}, 200),
        ("GET", "/v1/videos/nope/similar", {}, 404),
        ("GET", "/no/such/page", {}, 404),
        ("GET", f"/v1/videos/{QUERY}/similar", {"params": {"k": 0}}, 422),
        ("DELETE", f"/v1/videos/{QUERY}", {}, 401),  # answered by the upload guard, before routing
        ("POST", "/v1/search", {"files": {"file": ("a.txt", b"not an image")}}, 415),
    ],
)
def test_every_response_carries_the_security_headers(
    client: httpx.Client, method: str, path: str, kwargs: dict, status: int
) -> None:
    r = client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    policy = directives(r.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    assert r.headers["x-frame-options"] == "DENY"


def test_the_docs_page_runs_no_inline_script(client: httpx.Client) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
    policy = directives(r.headers["content-security-policy"])
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert client.get("/static/docs.js").status_code == 200


@pytest.mark.parametrize("page", ["index.html", "docs.html"])
def test_the_pages_have_no_inline_script_or_handler(page: str) -> None:
    html = (STATIC / page).read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html, re.I)
    assert "javascript:" not in html.lower()
