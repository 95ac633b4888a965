"""The batched torch preprocessing against the OpenCV path it replaces, on real rendered and decoded videos.

Tolerances, and why:
- masks, boxes, grey and the whole-frame resize: identical. They are integer arithmetic or exact averages of
  integers in both paths, and the mask decides which part of the frame the content vector sees at all.
- the content input: within one grey level per value, on at most 15% of values (measured: 6% for the colour
  crop alone, 10% with the default blur). OpenCV computes the resize of a crop that grows along one axis with
  11-bit fixed-point weights and the uint8 blur with a fixed-point kernel; the torch path computes both in
  float, so values near a half-way point round the other way. Never more than one level. (With
  `content_contrast` the stretch multiplies that level by its factor; the vector test below covers it.)
- the content vector of each frame through the real backbone: cosine distance ≤ 5e-3 (measured 2.0e-3), and
  at most a hundredth of the distance between the nearest frames of two different videos in the same batch, so the
  difference cannot reorder neighbours that the OpenCV path tells apart by a clear margin.
- the colour histogram: 1e-6 (both count integers; only the final float division and root can differ).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.backbones import frames_to_tensor
from vidstyle.core.settings import load_settings
from vidstyle.embedder.features import (
    FeatureExtractor,
    colour_histogram,
    content_frames,
    edge_map,
    l2n,
)
from vidstyle.embedder.preprocess import (
    colour_histogram_torch,
    content_frames_torch,
    edge_map_torch,
    frames_on,
    mask_boxes_torch,
    moving_region_weights_torch,
    small_grey,
)
from vidstyle.embedder.regions import mask_box, moving_region_weights
from vidstyle.evaluation.benchmark import Item, render_items
from vidstyle.media.decode import decode_file

SIZE = 224
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Decoded frames of real H.264 files: two three-panel videos (a framed moving panel), a plain video, an image."""
    items = [Item("three_panel", "rocket", "sepia", "t2"), Item("three_panel", "cat", "poster", "t1"),
             Item("video", "cat", "pencil"), Item("image", "coffee", "thermal")]
    paths = render_items(tmp_path_factory.mktemp("preprocess"), items, seed=0)
    return [decode_file(p, SIZE, 8, 0.5).frames for p in paths]


def opencv_weights(videos: list[np.ndarray]) -> list[np.ndarray | None]:
    return [moving_region_weights(v) for v in videos]


@pytest.mark.parametrize("device", DEVICES)
def test_masks_and_boxes_are_identical(videos: list[np.ndarray], device: str) -> None:
    want = opencv_weights(videos)
    assert sum(w is not None for w in want) == 2, "both three-panel videos are framed, the others are not"
    frames = frames_on(np.concatenate(videos), device)
    got = moving_region_weights_torch(frames, [len(v) for v in videos])
    assert [g is None for g in got] == [w is None for w in want]
    for g, w in zip(got, want):
        if w is not None:
            assert g.device.type == device
            np.testing.assert_array_equal(g.cpu().numpy(), w)
            assert tuple(mask_boxes_torch(g[None], SIZE)[0].tolist()) == mask_box(w, SIZE)
    # The small grey grid the decision starts from is OpenCV's exactly.
    import cv2

    grid = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (28, 28), interpolation=cv2.INTER_AREA)
                     for f in videos[0]]).astype(np.float32)
    np.testing.assert_array_equal(small_grey(frames[: len(videos[0])], 28).cpu().numpy(), grid)


def test_boxes_of_whole_frame_weights_are_the_whole_frame() -> None:
    weights = torch.stack([torch.ones(28, 28), torch.zeros(28, 28)])
    assert mask_boxes_torch(weights, SIZE).tolist() == [[0, SIZE, 0, SIZE]] * 2


def test_lengths_must_match_the_frames(videos: list[np.ndarray]) -> None:
    with pytest.raises(ValueError, match="lengths add up to"):
        moving_region_weights_torch(torch.from_numpy(videos[0]), [len(videos[0]) + 1])


@pytest.mark.parametrize("device", DEVICES)
def test_colour_histogram_matches(videos: list[np.ndarray], device: str) -> None:
    frames = np.concatenate(videos)
    got = colour_histogram_torch(frames_on(frames, device))
    assert got.device.type == device
    np.testing.assert_allclose(got.cpu().numpy(), colour_histogram(frames).numpy(), rtol=0, atol=1e-6)


def per_frame_weights(videos: list[np.ndarray]) -> np.ndarray:
    """The (n, 28, 28) weights Embedder.vectors passes: each video's mask repeated, ones where it has none."""
    full = np.ones((28, 28), np.float32)
    return np.concatenate([np.repeat((full if w is None else w)[None], len(v), 0)
                           for v, w in zip(videos, opencv_weights(videos))])


@pytest.mark.parametrize("overrides", [{"content_contrast": False},
                                       {"content_contrast": False, "content_grayscale": False, "content_blur": 0.0},
                                       {"content_contrast": False, "content_blur": 1.0}])
def test_content_input_matches_within_a_grey_level(videos: list[np.ndarray], overrides: dict) -> None:
    settings = load_settings(OFFLINE_CONFIG).model.model_copy(update=overrides)
    frames, weights = np.concatenate(videos), per_frame_weights(videos)
    want = frames_to_tensor(content_frames(frames, weights, settings))
    got = content_frames_torch(torch.from_numpy(frames), torch.from_numpy(weights), settings)
    assert got.shape == want.shape and got.dtype == torch.float32
    diff = (got - want).abs() * 255
    print(f"{overrides}: max {diff.max():.2f} grey levels, {(diff > 0.5).float().mean():.4f} of values differ")
    assert float(diff.max()) <= 1.0 + 1e-4
    assert float((diff > 0.5).float().mean()) <= 0.15
    if settings.content_blur > 0:
        return  # OpenCV's fixed-point blur rounds a few values the other way (module docstring)
    # Without masks the crop is the whole frame, resized by an exact factor: identical.
    whole = content_frames_torch(torch.from_numpy(frames), None, settings)
    np.testing.assert_array_equal(whole.numpy(), frames_to_tensor(content_frames(frames, None, settings)).numpy())


def test_edge_map_of_the_content_input_is_identical(videos: list[np.ndarray]) -> None:
    settings = load_settings(OFFLINE_CONFIG).model.model_copy(update={"content_blur": 0.0})
    content = content_frames(np.concatenate(videos), None, settings)
    got = edge_map_torch(torch.from_numpy(content).permute(0, 3, 1, 2).float()).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(got.numpy(), edge_map(content).astype(np.float32))


def content_vector(features: FeatureExtractor, content_in: torch.Tensor) -> torch.Tensor:
    """The extractor's content vector of a prepared content input (its content pass, as in its __call__)."""
    taps = features._taps(features.content_model, content_in)
    blocks = [features._block(features._pool(taps[t]), features.settings.content_norm) for t in features.content_taps]
    return l2n(torch.cat(blocks, dim=1))


@pytest.mark.slow
def test_content_vectors_match_through_the_backbone(videos: list[np.ndarray], embedder) -> None:
    features: FeatureExtractor = embedder.features
    frames, weights = np.concatenate(videos), per_frame_weights(videos)
    opencv = content_vector(features, frames_to_tensor(content_frames(frames, weights, features.settings)))
    torched = content_vector(features, content_frames_torch(torch.from_numpy(frames), torch.from_numpy(weights),
                                                            features.settings))
    distance = 1 - (opencv * torched).sum(1)
    video = np.repeat(np.arange(len(videos)), [len(v) for v in videos])
    between = 1 - opencv @ opencv.T
    nearest_other = float(between[torch.from_numpy(video[:, None] != video[None, :])].min())
    print(f"cosine distance, torch vs OpenCV input: max {distance.max():.2e}; nearest frame of another video "
          f"{nearest_other:.2e}")
    assert float(distance.max()) <= 5e-3
    # The two paths are far closer than any two frames of different videos.
    assert nearest_other > 100 * float(distance.max())



@pytest.mark.slow
def test_the_embedder_gives_the_same_vectors_with_either_preprocessing(videos: list[np.ndarray], embedder) -> None:
    """`model.preprocess: torch` (what a GPU runs) through the whole embedder, on the CPU, against OpenCV:
    the style pass sees the same frames (its vectors agree to float rounding); the content vectors within the
    content input's rounding (above)."""
    from vidstyle.media.decode import Decoded

    decoded = [Decoded(v, [float(i) for i in range(len(v))]) for v in videos]
    features = embedder.features
    assert not features.torch_preprocess  # auto on a CPU
    opencv = embedder.vectors(decoded)
    features.torch_preprocess = True
    try:
        torched = embedder.vectors(decoded)
    finally:
        features.torch_preprocess = False
    for a, b in zip(opencv, torched):
        assert set(a) == set(b)
        for column in ("style", "style_stats", "style_gram", "style_texture", "style_learned"):
            if column in a:
                assert np.abs(a[column] - b[column]).max() <= 1e-5, column
        distance = 1 - float(a["content"] @ b["content"])
        print(f"content cosine distance, torch vs OpenCV preprocessing: {distance:.2e}")
        assert distance <= 5e-3
