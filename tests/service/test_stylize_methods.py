"""Every configured style-transfer method renders a chosen pair over HTTP and on the web page (real server on
127.0.0.1, real Chromium); what is not configured, or fails to load, says why and leaves the others working."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.service.test_web import QUERY, browser, loaded_images  # noqa: F401 - browser is a fixture
from tests.support.server import Server, copy_catalogue
from tests.support.style import tiny_config
from vidstyle.styletransfer.train import train

pytestmark = pytest.mark.slow
LIKE = "coffee__poster"


@pytest.fixture(scope="module")
def checkpoints(tiny_frames, offline_settings, trained_tiny: Path, tmp_path_factory) -> dict[str, Path]:
    """ghiasi (the session's tiny CIN checkpoint), cin and stylebank after 2 steps on 32-px images."""
    contents, styles = tiny_frames
    out = {"ghiasi": trained_tiny}
    for method in ("cin", "stylebank"):
        out[method] = tmp_path_factory.mktemp(method) / f"{method}.pt"
        train(contents, styles, out[method], tiny_config(method=method, steps=2), offline_settings, device="cpu",
              progress=False, threads=1)
    return out


@pytest.fixture(scope="module")
def methods_server(served_index, checkpoints, tmp_path_factory) -> Iterator[Server]:  # noqa: ANN001
    """A catalogue copy served with ghiasi, cin and stylebank checkpoints, Gatys at 2 steps, and an `adain` entry
    that holds a cin model (a misconfiguration the server must survive)."""
    _, index = copy_catalogue(*served_index, tmp_path_factory.mktemp("methods-catalogue"))
    configured = {m: str(p) for m, p in checkpoints.items()} | {"adain": str(checkpoints["cin"])}
    env = {"VIDSTYLE_STYLIZE__CHECKPOINTS": json.dumps(configured), "VIDSTYLE_STYLIZE__GATYS_STEPS": "2"}
    srv = Server(index, None, tmp_path_factory.mktemp("methods-logs") / "server.log", env=env).start()
    yield srv
    srv.stop()


def render(client: httpx.Client, method: str, size: int = 64, like: str = LIKE) -> httpx.Response:
    return client.get("/v1/stylize/render", params={"content": QUERY, "like": like, "size": size, "method": method})


def test_each_configured_method_renders_the_pair(methods_server) -> None:  # noqa: ANN001
    with httpx.Client(base_url=methods_server.url, timeout=120) as client:
        info = client.get("/v1/stylize").json()
        assert info["available"] is True and info["checkpoint"] == "tiny.pt"  # the default method, as before
        states = {m["method"]: m for m in info["methods"]}
        assert list(states) == ["ghiasi", "adain", "cin", "johnson", "stylebank", "gatys"]
        assert {m for m, s in states.items() if s["available"]} == {"ghiasi", "adain", "cin", "stylebank", "gatys"}
        assert "stylize.checkpoints.johnson" in states["johnson"]["reason"]
        assert states["stylebank"]["checkpoint"] == "stylebank.pt" and states["gatys"]["checkpoint"] is None

        pictures = {}
        for method in ("ghiasi", "cin", "stylebank", "gatys"):
            r = render(client, method)
            assert r.status_code == 200 and r.headers["content-type"] == "image/png", (method, r.text)
            img = Image.open(io.BytesIO(r.content))
            assert img.size == (64, 64) and img.mode == "RGB"
            pictures[method] = np.asarray(img, np.float32)
            known = r.headers.get("x-stylize-note", "")
            assert known.startswith("known style") if method in ("cin", "stylebank") else not known
        for a, b in (("ghiasi", "cin"), ("cin", "stylebank"), ("stylebank", "gatys")):
            assert np.abs(pictures[a] - pictures[b]).mean() > 1.0, (a, b)  # each method draws its own picture
        again = np.asarray(Image.open(io.BytesIO(render(client, "ghiasi").content)), np.float32)
        np.testing.assert_array_equal(again, pictures["ghiasi"])  # deterministic
        assert Image.open(io.BytesIO(render(client, "gatys", size=256).content)).size == (128, 128)  # capped

        johnson = render(client, "johnson")
        assert johnson.status_code == 404 and "stylize.checkpoints.johnson" in johnson.json()["detail"]
        assert render(client, "picasso").status_code == 422
        assert render(client, "cin", like="no-such-video").status_code == 404
        wrong = render(client, "adain")  # a cin checkpoint under adain: 503 with the reason, the rest still works
        assert wrong.status_code == 503 and "holds a cin model" in wrong.json()["detail"]
        adain = next(m for m in client.get("/v1/stylize").json()["methods"] if m["method"] == "adain")
        assert adain["available"] is False and "holds a cin model" in adain["reason"]
        assert render(client, "cin").status_code == 200


def test_the_page_shows_every_available_method(browser, methods_server, tmp_path) -> None:  # noqa: ANN001, F811
    with httpx.Client(base_url=methods_server.url, timeout=120) as client:
        assert render(client, "adain").status_code == 503  # whatever ran before: adain has failed to load
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=methods_server.url)
    try:
        pg = context.new_page()
        pg.goto(f"/#video={QUERY}")
        pg.wait_for_function(
            "() => { const imgs = [...document.querySelectorAll('#stylized img.stylized')];"
            " return imgs.length === 4 && imgs.every(i => i.complete && i.naturalWidth > 0); }", timeout=120_000,
        )
        shown = pg.locator("#stylized img.stylized").evaluate_all("els => els.map(e => e.dataset.method)")
        assert shown == ["ghiasi", "cin", "stylebank", "gatys"]  # adain failed to load: left out, no broken image
        captions = pg.locator("#stylized figcaption").all_inner_texts()
        assert captions[1] == f"style: {QUERY}" and captions[0].startswith("content: ")
        assert captions[3].startswith("cin: known style") and captions[4].startswith("stylebank: known style")
        assert loaded_images(pg, "#stylized img") == 6
        pg.locator("#stylized").screenshot(path=str(tmp_path / "stylized.png"))
        assert Image.open(tmp_path / "stylized.png").size[0] > 400
    finally:
        context.close()
