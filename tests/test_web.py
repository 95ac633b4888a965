"""The web page in real headless Chromium (Debian's `chromium`, driven by Playwright) against a live server."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow
pytest_plugins = ["test_service_support"]

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
