"""The copy check on real H.264 footage: every edit kind of the copy benchmark is found, other footage is not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.core.settings import ServeSettings, load_settings
from vidstyle.embedder.copies import EDGE_BANDS, _similarities, match, prepare
from vidstyle.embedder.copy_background import background_score, normalised
from vidstyle.embedder.copy_descriptor import (
    DIM,
    GRID,
    STATIC_PIXELS,
    WINDOWS,
    WINDOWS_WHOLE_CELL,
    describe,
    grey,
    mirror,
    overlay_weights,
    static_pixel_weights,
    views,
)
from vidstyle.evaluation.copy_benchmark import EDITS, CopyItem, _Renderer
from vidstyle.media.decode import decode_file

THRESHOLD = 0.761  # the raw score's threshold (best F1 on the copy benchmark's train split, docs/recommend.md)
SERVE = ServeSettings()
SUBJECT, LOOK = "cat", "sepia"


def _keyframes(path: Path) -> np.ndarray:
    d = load_settings(OFFLINE_CONFIG).decode
    return decode_file(path, 224, d.max_frames, d.min_gap_s).frames


def _descriptors(path: Path) -> np.ndarray:
    return describe(_keyframes(path))


def _shipped_score(a: np.ndarray, b: np.ndarray) -> float:
    """The score `recommend` compares with `serve.copy_threshold`: normalised against the packaged background."""
    score = normalised(match(a, b).score, background_score(a), background_score(b), SERVE.copy_background_weight)
    assert score is not None
    return score


@pytest.fixture(scope="module")
def original_frames(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The keyframes of one original, as decoded from its H.264 file."""
    return _keyframes(_Renderer(tmp_path_factory.mktemp("original"), seed=5).render(CopyItem("test", SUBJECT, 0, LOOK)))


@pytest.fixture(scope="module")
def other_frames(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The keyframes of the subject's other shot (different footage), as decoded from its H.264 file."""
    return _keyframes(_Renderer(tmp_path_factory.mktemp("other"), seed=5).render(CopyItem("test", SUBJECT, 1, LOOK)))


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Descriptors of one original, one copy per edit kind, and the subject's other shot, all encoded H.264."""
    out = tmp_path_factory.mktemp("copies")
    renderer = _Renderer(out, seed=5)
    items = {"original": CopyItem("test", SUBJECT, 0, LOOK), "other footage": CopyItem("test", SUBJECT, 1, LOOK)}
    items |= {edit: CopyItem("test", SUBJECT, 0, "halftone" if edit == "look" else LOOK, (edit,)) for edit in EDITS}
    return {name: _descriptors(renderer.render(item)) for name, item in items.items()}


@pytest.mark.parametrize("edit", EDITS)
def test_each_edit_kind_is_found_as_a_copy(footage: dict[str, np.ndarray], edit: str) -> None:
    score = _shipped_score(footage["original"], footage[edit])
    assert score >= SERVE.copy_threshold, f"{edit}: copy score {score:.3f} under {SERVE.copy_threshold}"
    assert match(footage["original"], footage[edit]).mirrored == (edit == "flip")


def test_other_footage_of_the_subject_is_not_a_copy(footage: dict[str, np.ndarray]) -> None:
    score = _shipped_score(footage["original"], footage["other footage"])
    assert score < SERVE.copy_threshold, f"other footage scored {score:.3f}"
    assert match(footage["original"], footage["other footage"]).score < match(footage["original"],
                                                                               footage["look"]).score


def test_mirror_permutes_the_descriptor_of_the_mirrored_frame() -> None:
    rng = np.random.default_rng(0)
    frames = (rng.random((2, 64, 64, 3)) * 255).astype(np.uint8)
    frames[:, 10:40, 5:20] = 255  # an asymmetric bright block, so mirroring changes the descriptor
    plain, flipped = describe(frames), describe(np.ascontiguousarray(frames[:, :, ::-1]))
    assert plain.shape == (2, DIM)
    assert np.abs(views(mirror(plain)) - views(flipped)).max() < 0.05 < np.abs(views(plain) - views(flipped)).max()


def test_a_crop_window_of_the_original_lines_up_with_the_cropped_copy(footage: dict[str, np.ndarray]) -> None:
    windowed, plain = match(footage["original"], footage["crop"]), match(footage["original"], footage["crop"], False)
    assert windowed.score > plain.score + 0.1
    assert match(footage["crop"], footage["original"]).score == pytest.approx(windowed.score, abs=1e-6)


def test_unknown_descriptors_give_no_verdict() -> None:
    d = describe(np.zeros((3, 32, 32, 3), np.uint8) + 128)
    assert match(None, d).unknown and match(d, np.zeros((3, 7), np.float32)).unknown
    assert not match(None, d).is_copy(THRESHOLD)


def test_a_static_banner_is_weighed_down_and_matters_less(original_frames: np.ndarray) -> None:
    """An opaque banner with text over the top 3/8 of every frame: static, so the top row of a view's cells (the top
    quarter, away from the banner's edge, where the blur lets the moving footage in) weighs ~0, and the copy scores
    higher with the weights than without them."""
    banner = original_frames.copy()
    band = banner.shape[1] * 3 // 8
    banner[:, :band] = (200, 40, 90)
    for f in banner:
        cv2.putText(f, "NO WAY", (6, band - 10), cv2.FONT_HERSHEY_DUPLEX, 1.0, (255, 255, 255), 2, cv2.LINE_AA)
    original, copy = describe(original_frames), describe(banner)
    weights = overlay_weights(copy)[0].reshape(GRID, GRID)  # the whole frame's view cells
    assert weights[0].max() < 0.1 and weights[2:].min() == pytest.approx(1.0)
    assert overlay_weights(original).min() == pytest.approx(1.0)  # a panning shot has nothing static
    weighed, flat = match(original, copy), match(original, copy, overlays=False)
    assert weighed.score > flat.score + 0.05
    assert _shipped_score(original, copy) >= SERVE.copy_threshold


def test_static_pixels_under_a_see_through_caption_are_weighed_down(original_frames: np.ndarray) -> None:
    """A caption as the benchmark draws it (a band at 70 % colour that lets the footage through, white text on it):
    the band is not static enough for the cells' overlay weights, but the text's pixels keep their grey value on every
    keyframe, so their gradients weigh ~0, while the footage's typical pixel keeps over half of its weight (τ compares
    a pixel's change with the median pixel's) and the band, whose footage moves at 30 % of its contrast, keeps more
    than the text. A still shot (identical keyframes) gets no weighting, and neither does a video of under three
    keyframes."""
    captioned = original_frames.copy()
    band = captioned.shape[1] // 5
    captioned[:, :band] = (0.3 * captioned[:, :band] + 0.7 * np.array([200, 40, 90])).astype(np.uint8)
    for f in captioned:
        cv2.putText(f, "NO WAY", (8, band - 12), cv2.FONT_HERSHEY_DUPLEX, 1.2, (255, 255, 255), 3, cv2.LINE_AA)
    weights = static_pixel_weights(np.stack([grey(f) for f in captioned]), STATIC_PIXELS)
    text = np.stack([grey(f) for f in captioned]).min(axis=0) > 200  # white on every keyframe: the strokes
    rows = weights.shape[0] * band // captioned.shape[1]
    assert text.sum() > 20 and weights[text].mean() < 0.1 < 0.5 < np.median(weights[rows + 2 :])
    assert np.median(weights[:rows][~text[:rows]]) > 2 * weights[text].mean()
    still = np.repeat(original_frames[:1], len(original_frames), axis=0)  # identical keyframes: σ 0 everywhere
    assert static_pixel_weights(np.stack([grey(f) for f in still]), STATIC_PIXELS) is None
    assert np.abs(describe(still) - describe(still, static_pixels=0)).max() == 0
    assert static_pixel_weights(np.stack([grey(f) for f in captioned[:2]]), STATIC_PIXELS) is None
    # What it is for: the captioned copy scores higher against its original with the weights than without.
    original = original_frames
    weighed = match(describe(original), describe(captioned)).score
    plain = match(describe(original, static_pixels=0), describe(captioned, static_pixels=0)).score
    assert weighed > plain + 0.02, (weighed, plain)


def test_half_cell_windows_line_up_with_a_crop_between_whole_cells(original_frames: np.ndarray) -> None:
    """A 75 % crop starting half a stored cell in (1/16 of the side): the half-cell windows hold it exactly, the
    whole-cell ones are half a cell off."""
    side = original_frames.shape[1]
    first, keep = side // 16, side * 3 // 4
    cropped = np.stack([cv2.resize(f[first : first + keep, first : first + keep], (side, side),
                                   interpolation=cv2.INTER_AREA) for f in original_frames])
    original, copy = describe(original_frames), describe(cropped)
    dense = match(original, copy, windows=WINDOWS, overlays=False)
    whole_cell = match(original, copy, windows=WINDOWS_WHOLE_CELL, overlays=False)
    assert dense.score > whole_cell.score + 0.05
    assert dense.score > 0.85


def test_a_mostly_static_video_has_no_overlay(original_frames: np.ndarray) -> None:
    """A still (one frame repeated) and footage with a plain backdrop over 3/4 of the frame: no cell is weighed
    down, so two such videos are never compared on the sliver of the frame that moves in both."""
    still = np.repeat(original_frames[:1], len(original_frames), axis=0)
    backdrop = original_frames.copy()
    backdrop[:, :, : backdrop.shape[2] * 3 // 4] = 90
    for frames in (still, backdrop):
        assert overlay_weights(describe(frames)).min() == pytest.approx(1.0)


SUBTITLES = ("WAIT FOR IT", "SO CUTE", "NO WAY", "LOOK AT THIS", "#VIRAL", "OMG", "REPLAY", "SAVE THIS")


def _subtitled(frames: np.ndarray, crop: bool) -> np.ndarray:
    """An opaque band along the bottom fifth with a different subtitle on every keyframe (so it is not static and
    the overlay weights leave it in), after an 80 % crop when `crop`."""
    side, out = frames.shape[1], []
    for n, f in enumerate(frames):
        if crop:
            top, left, keep = side // 10, side // 20, side * 4 // 5
            f = cv2.resize(f[top : top + keep, left : left + keep], (side, side), interpolation=cv2.INTER_AREA)
        f, band = f.copy(), side // 5
        f[side - band :] = (20, 20, 20)
        cv2.putText(f, SUBTITLES[n % len(SUBTITLES)], (8, side - band // 2 + 8), cv2.FONT_HERSHEY_DUPLEX, 0.7,
                    (255, 255, 255), 2, cv2.LINE_AA)
        out.append(f)
    return np.stack(out)


def test_edge_bands_score_the_cosine_of_the_kept_cells_alone() -> None:
    """Each band's similarity is the weighted cosine of the kept cells, centred again over themselves (computed
    here the slow way, cell by cell); the first band keeps every cell and is the plain comparison."""
    rng = np.random.default_rng(0)
    q, c = prepare(rng.random((3, DIM)).astype(np.float32) ** 3), prepare(rng.random((2, DIM)).astype(np.float32) ** 3)
    c.mirrored.weights[:] = rng.random(c.mirrored.weights.shape)  # overlay weights of any value
    bands = [np.ones(GRID * GRID, bool), *EDGE_BANDS.values()]
    sims = _similarities(q.plain, c.mirrored, slice(0, 1), slice(1, None), edges=tuple(EDGE_BANDS))
    assert np.allclose(sims[:: len(bands)], _similarities(q.plain, c.mirrored, slice(0, 1), slice(1, None)),
                       atol=1e-5)
    x, y = q.plain.cells[:, 0], c.mirrored.cells[:, 1:]
    u = q.plain.weights[0] * c.mirrored.weights[1:]  # (views, cells)
    expected = np.empty((len(y[0]), len(bands), len(x), len(y)))
    for p_, e, i, j in np.ndindex(expected.shape):
        keep = bands[e]
        a = (x[i, keep] - x[i, keep].mean()) * u[p_, keep, None]
        b = (y[j, p_, keep] - y[j, p_, keep].mean()) * u[p_, keep, None]
        expected[p_, e, i, j] = (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())
    assert np.abs(sims - expected.reshape(sims.shape)).max() < 1e-4


def test_edge_bands_find_a_subtitled_crop_and_not_other_footage_under_the_band(
        original_frames: np.ndarray, other_frames: np.ndarray) -> None:
    """A cropped copy under a subtitle band (changing text: the overlay weights keep it) is a copy once the bottom
    row of cells may be left out; without the bands it is not. Another shot of the subject under the same band
    stays far from a copy: the band itself does not match (it is left out of both sides)."""
    original = describe(original_frames)
    copy, other = describe(_subtitled(original_frames, crop=True)), describe(_subtitled(other_frames, crop=False))
    banded, plain = match(original, copy, edges=("bottom",)), match(original, copy)
    assert banded.is_copy(THRESHOLD) and not plain.is_copy(THRESHOLD)
    assert banded.score > plain.score + 0.1  # the static band's edge is weighed down already (static pixels)
    assert not match(original, other, edges=tuple(EDGE_BANDS)).is_copy(THRESHOLD)
    assert match(original, copy, edges=tuple(EDGE_BANDS)).score >= banded.score  # more hypotheses, the best kept
