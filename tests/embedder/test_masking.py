"""Static-template masking: the mask finds the moving panel, and it turns a failing three-panel triplet around."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.core.settings import load_settings
from vidstyle.embedder.features import content_frames
from vidstyle.embedder.regions import mask_box, moving_region_weights, panel_weights, refine_box
from vidstyle.evaluation.benchmark import PANEL_FRAME_WH, Item, make_template, render_items
from vidstyle.evaluation.copy_benchmark import CopyItem, _Renderer
from vidstyle.media.decode import decode_file

SIZE = 224


def framed_video(n: int = 5, top: int = 72, bottom: int = 152, seed: int = 0) -> np.ndarray:
    """A fixed random template with a panel (rows top:bottom) where a textured scene pans sideways."""
    rng = np.random.default_rng(seed)
    template = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    scene = rng.integers(0, 255, (bottom - top, SIZE + 10 * n, 3), dtype=np.uint8)
    frames = np.repeat(template[None], n, 0)
    for i in range(n):
        frames[i, top:bottom] = scene[:, 10 * i : 10 * i + SIZE]
    return frames


def test_mask_is_the_panel_box() -> None:
    w = moving_region_weights(framed_video())
    assert w is not None and w.shape == (28, 28)
    assert mask_box(w, SIZE) == (72, 152, 0, SIZE)
    assert set(np.unique(w)) == {0.0, 1.0}


def test_mask_keeps_flat_parts_of_the_panel_and_ignores_a_small_blinking_icon() -> None:
    frames = framed_video()
    frames[:, 72:100] = 128  # a flat sky at the top of the panel: it does not change under the pan
    frames[1::2, 8:16, 8:16] = 255  # a blinking 8x8 icon in the template
    w = moving_region_weights(frames)
    assert w is not None
    top, bottom, left, right = mask_box(w, SIZE)
    assert 96 <= top <= 104 and bottom == 152 and (left, right) == (0, SIZE)


def test_no_mask_for_single_frames_still_videos_full_motion_or_a_one_sided_band() -> None:
    frames = framed_video()
    assert moving_region_weights(frames[:1]) is None
    assert moving_region_weights(np.repeat(frames[:1], 4, 0)) is None
    assert moving_region_weights(framed_video(top=0, bottom=SIZE)) is None
    # Static only above the moving part (a flat sky over a panning shot): not a framing template.
    assert moving_region_weights(framed_video(top=64, bottom=SIZE)) is None


def test_content_input_is_the_cropped_panel() -> None:
    frames = framed_video()
    settings = load_settings(OFFLINE_CONFIG).model.model_copy(
        update={"content_grayscale": False, "content_blur": 0, "content_contrast": False})
    w = np.repeat(moving_region_weights(frames)[None], len(frames), 0)
    crop = content_frames(frames, w, settings)
    assert crop.shape == (len(frames), settings.content_input_size, settings.content_input_size, 3)
    # The crop holds the panel only: its first row is the panel's first row, resized; nothing of the template.
    import cv2

    expected = cv2.resize(frames[0, 72:152], (settings.content_input_size,) * 2, interpolation=cv2.INTER_AREA)
    assert np.array_equal(crop[0], expected)


def test_pixel_weights_carry_the_refined_box_into_the_content_crop() -> None:
    """`model.content_mask_share`: a panel off the 8 px grid (rows 70:140) gets the grid box 64:144; its pixel weights
    (`panel_weights`) read back as the refined box, and the content pass crops exactly the panel."""
    import cv2

    frames = framed_video(top=70, bottom=140)
    grid = moving_region_weights(frames)
    assert grid is not None and mask_box(grid, SIZE) == (64, 144, 0, SIZE)
    pixels = panel_weights(frames, grid, 0.5)
    assert pixels.shape == (SIZE, SIZE) and mask_box(pixels, SIZE) == (70, 140, 0, SIZE)
    settings = load_settings(OFFLINE_CONFIG).model.model_copy(
        update={"content_grayscale": False, "content_blur": 0, "content_contrast": False})
    weights = np.repeat(pixels[None], len(frames), 0)
    crop = content_frames(frames, weights, settings)
    expected = cv2.resize(frames[0, 70:140], (settings.content_input_size,) * 2, interpolation=cv2.INTER_AREA)
    assert np.array_equal(crop[0], expected)
    # The torch path (GPU preparation) reads the same box off the pixel weights.
    import torch

    from vidstyle.backbones import frames_to_tensor
    from vidstyle.embedder.preprocess import content_frames_torch

    got = content_frames_torch(torch.from_numpy(frames), torch.from_numpy(weights), settings)
    assert float((got - frames_to_tensor(crop)).abs().max()) * 255 <= 1.0 + 1e-4


@pytest.fixture(scope="module")
def hard_triplet(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A: rocket, sepia, template t2. B: cat, poster, template t1. C: cat, sepia, template t2.

    A shares C's template (two thirds of the frame) and look but not its subject: whole-frame content calls A
    the nearer one; content restricted to the moving panel must call B nearer.
    """
    items = [Item("three_panel", "rocket", "sepia", "t2"), Item("three_panel", "cat", "poster", "t1"),
             Item("three_panel", "cat", "sepia", "t2")]
    return render_items(tmp_path_factory.mktemp("three_panel"), items, seed=0)


@pytest.mark.slow
def test_masking_turns_a_failing_three_panel_triplet_into_a_passing_one(hard_triplet: list[Path], embedder) -> None:
    from vidstyle.embedder.model import Embedder

    decoded = [decode_file(p, SIZE, 8, 0.5) for p in hard_triplet]
    unmasked = Embedder(load_settings(OFFLINE_CONFIG, {"model": {"content_mask": False}}))
    sims = {}
    for name, emb in (("off", unmasked), ("on", embedder)):
        assert emb.settings.model.content_mask == (name == "on")
        a, b, c = (v["content"] for v in emb.vectors(decoded))
        sims[name] = (float(a @ c), float(b @ c))
    print(f"content sim(A,C), sim(B,C): mask off {sims['off']}, mask on {sims['on']}")
    ac_off, bc_off = sims["off"]
    ac_on, bc_on = sims["on"]
    # (the content head narrows the unmasked margin, from 0.05+ to ~0.03 here, but the template still wins)
    assert ac_off > bc_off, "without the mask the shared template wins (the failure masking exists for)"
    assert bc_on > ac_on + 0.2, "with the mask, the same subject wins by a clear margin"


def test_the_refined_box_holds_a_three_panel_copys_panel_to_the_pixel(tmp_path: Path) -> None:
    """A copy benchmark three-panel copy (H.264, a training look): the grid box takes in part of the banners around
    the panel (a straddling cell moves); `refine_box` trims rows whose footage does not move back to the panel's
    true rows, known from the template. A panel that already fills the grid box keeps it."""
    item = CopyItem("train", "coins", 1, "sepia", ("three_panel",), 0)
    d = load_settings(OFFLINE_CONFIG).decode
    frames = decode_file(_Renderer(tmp_path, seed=11).render(item), SIZE, d.max_frames, d.min_gap_s).frames
    _, y, _, h = make_template(f"{item.content}{item.shot}{item.number}", 11, PANEL_FRAME_WH).panel
    truth = (y * SIZE / PANEL_FRAME_WH[1], (y + h) * SIZE / PANEL_FRAME_WH[1])
    weights = moving_region_weights(frames)
    assert weights is not None
    grid, fine = mask_box(weights, SIZE), refine_box(frames, mask_box(weights, SIZE))
    grid_error = max(abs(grid[0] - truth[0]), abs(grid[1] - truth[1]))
    fine_error = max(abs(fine[0] - truth[0]), abs(fine[1] - truth[1]))
    assert fine_error <= 3 < grid_error, (grid, fine, truth)
    assert refine_box(framed_video(), (72, 152, 0, SIZE)) == (72, 152, 0, SIZE)
