"""The web page in real headless Chromium (Debian's `chromium`, driven by Playwright) against a live server."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.support.server import Server, copy_catalogue

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
QUERY = "cat__sepia"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server, tmp_path_factory):  # noqa: ANN001, ANN201 - playwright types are optional
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # Chromium reports what the Content-Security-Policy blocked as console errors.
    pg.on("console", lambda msg: "Content Security Policy" in msg.text and errors.append(msg.text))
    yield pg
    context.close()
    assert not errors, errors


def loaded_images(page, selector: str) -> int:  # noqa: ANN001
    """How many <img> under `selector` have actually decoded (a broken image has naturalWidth 0)."""
    return page.eval_on_selector_all(selector, "els => els.filter(e => e.complete && e.naturalWidth > 0).length")


def test_choosing_a_video_shows_both_neighbour_lists(page, tmp_path: Path) -> None:  # noqa: ANN001
    page.goto("/")
    page.wait_for_selector("#video-list li")
    assert page.locator("#video-list li").count() == 16
    assert "16 videos" in page.inner_text("#count")

    page.click(f"#video-list li[data-video-id='{QUERY}']")
    page.wait_for_function(
        """() => ['#style-results', '#content-results', '#recommend-results'].every(sel =>
               [...document.querySelectorAll(sel + ' .card img')].some(i => i.complete && i.naturalWidth > 0))"""
    )
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#selected-title") == QUERY
    for space in ("style", "content"):
        cards = page.locator(f"#{space}-results .card")
        assert cards.count() == 8
        assert loaded_images(page, f"#{space}-results .card img") == 8
        ids = cards.evaluate_all("els => els.map(e => e.dataset.videoId)")
        assert QUERY not in ids
        scores = [float(s) for s in page.locator(f"#{space}-results .card .score").all_inner_texts()]
        assert scores == sorted(scores, reverse=True)
    content_ids = page.locator("#content-results .card").evaluate_all("els => els.map(e => e.dataset.videoId)")
    assert content_ids[0].startswith("cat__")  # same subject first
    assert loaded_images(page, "#keyframes img") >= 2  # the chosen video's keyframes
    assert page.locator("#recommend-results .card").count() >= 1
    assert "#video=" in page.url
    assert page.is_hidden("#stylized")  # no CIN checkpoint loaded in this server
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)

    # Clicking a neighbour makes it the chosen video.
    first = page.locator("#style-results .card").first
    chosen = first.get_attribute("data-video-id")
    first.click()
    page.wait_for_function(f"() => document.querySelector('#selected-title').textContent === {chosen!r}")
    page.wait_for_selector("#style-results .card img")


def test_filter_and_upload_search(page, tmp_path: Path) -> None:  # noqa: ANN001
    page.goto("/")
    page.wait_for_selector("#video-list li")
    page.fill("#filter", "coffee")
    page.wait_for_function("() => document.querySelectorAll('#video-list li').length === 4")

    # Search by uploading an image: a keyframe of a catalogue video, re-encoded as PNG.
    jpeg = page.request.get(f"/v1/videos/{QUERY}/thumbnail?i=1").body()
    buf = io.BytesIO()
    Image.fromarray(np.asarray(Image.open(io.BytesIO(jpeg)))).save(buf, format="PNG")
    image = tmp_path / "frame.png"
    image.write_bytes(buf.getvalue())
    page.set_input_files("#upload", str(image))
    page.wait_for_function(
        "() => document.querySelectorAll('#content-results .card').length > 0", timeout=60_000
    )
    assert page.inner_text("#selected-title") == "Upload: frame.png"
    assert page.locator("#style-results .card").count() == 8
    top = page.locator("#content-results .card").first.get_attribute("data-video-id")
    assert top.startswith("cat__")
    assert page.is_hidden("#recommend")


def test_a_malformed_link_is_reported_not_thrown(page) -> None:  # noqa: ANN001
    page.goto("/#video=%E0%A4%A")
    page.wait_for_selector("#video-list li")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('valid video id')")
    assert page.inner_text("#selected-title") == "Pick a video on the left"
    # The page still works, and a well-formed link after it too.
    page.evaluate(f"() => {{ location.hash = '#video={QUERY}'; }}")
    page.wait_for_function(f"() => document.querySelector('#selected-title').textContent === {QUERY!r}")
    page.wait_for_function("() => document.querySelector('#status').textContent === ''")  # its lists are in
    page.evaluate("() => { location.hash = '#video=%'; }")
    page.wait_for_function("() => document.querySelector('#status').classList.contains('error')")


def test_the_policy_blocks_inline_script(browser, server) -> None:  # noqa: ANN001
    """The page works under its Content-Security-Policy (the fixture fails on any violation), and the policy
    is really enforced: an inline script injected into the page does not run."""
    context = browser.new_context(base_url=server.url)
    try:
        pg = context.new_page()
        blocked: list[str] = []
        pg.on("console", lambda msg: "Content Security Policy" in msg.text and blocked.append(msg.text))
        pg.goto("/")
        pg.wait_for_selector("#video-list li")
        pg.evaluate("""() => { const s = document.createElement('script');
                                s.textContent = 'window.__inline_ran = true'; document.head.appendChild(s); }""")
        pg.wait_for_timeout(200)
        assert pg.evaluate("() => window.__inline_ran === undefined")
        assert blocked, "the browser reported no blocked inline script"
    finally:
        context.close()


@pytest.fixture(scope="module")
def cin_server(served_index, trained_tiny: Path, tmp_path_factory):  # noqa: ANN001, ANN201
    """A copy of the catalogue (one writer per INDEX_DIR) served with a (briefly trained) CIN checkpoint."""
    _, index = copy_catalogue(*served_index, tmp_path_factory.mktemp("cin-catalogue"))
    srv = Server(index, None, tmp_path_factory.mktemp("cin-logs") / "server.log",
                 env={"VIDSTYLE_MODEL__CIN_CHECKPOINT": str(trained_tiny)}).start()
    yield srv
    srv.stop()


def test_stylized_frame_with_a_cin_checkpoint(browser, cin_server) -> None:  # noqa: ANN001
    with httpx.Client(base_url=cin_server.url, timeout=60) as client:
        info = client.get("/v1/stylize").json()
        assert (info["available"], info["checkpoint"]) == (True, "tiny.pt")
        assert [m["method"] for m in info["methods"] if m["available"]] == ["ghiasi"]
        renders = {}
        for like in ("cat__pencil", "coffee__poster"):
            r = client.get("/v1/stylize/render", params={"content": QUERY, "like": like, "size": 64})
            assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
            img = Image.open(io.BytesIO(r.content))
            assert img.size == (64, 64) and img.mode == "RGB"
            renders[like] = np.asarray(img, np.float32)
        # Same content frame, two style references: the predicted style changes the picture.
        assert np.abs(renders["cat__pencil"] - renders["coffee__poster"]).mean() > 1.0
        r = client.get("/v1/stylize/render", params={"content": QUERY, "like": "no-such-video"})
        assert r.status_code == 404 and "no-such-video" in r.json()["detail"]

    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=cin_server.url)
    try:
        pg = context.new_page()
        pg.goto(f"/#video={QUERY}")
        pg.wait_for_function(
            "() => { const i = document.querySelector('#stylized img.stylized');"
            " return i && i.complete && i.naturalWidth === 256; }", timeout=60_000,
        )
        assert pg.is_visible("#stylized")
        captions = pg.locator("#stylized figcaption").all_inner_texts()
        assert captions[1] == f"style: {QUERY}" and captions[0].startswith("content: ")
        assert loaded_images(pg, "#stylized img") == 3
    finally:
        context.close()
