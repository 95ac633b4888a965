"""The copy check on real H.264 footage: every edit kind of the copy benchmark is found, other footage is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.core.settings import ServeSettings, load_settings
from vidstyle.embedder.copy_descriptor import DIM, describe, mirror, views
from vidstyle.evaluation.copy_benchmark import EDITS, CopyItem, _Renderer
from vidstyle.indexing.copies import match
from vidstyle.media.decode import decode_file

THRESHOLD = ServeSettings().copy_threshold
SUBJECT, LOOK = "cat", "sepia"


def _descriptors(path: Path) -> np.ndarray:
    d = load_settings(OFFLINE_CONFIG).decode
    return describe(decode_file(path, 224, d.max_frames, d.min_gap_s).frames)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Descriptors of one original, one copy per edit kind, and the subject's other shot, all encoded H.264."""
    out = tmp_path_factory.mktemp("copies")
    renderer = _Renderer(out, seed=5)
    items = {"original": CopyItem("test", SUBJECT, 0, LOOK), "other footage": CopyItem("test", SUBJECT, 1, LOOK)}
    items |= {edit: CopyItem("test", SUBJECT, 0, "halftone" if edit == "look" else LOOK, (edit,)) for edit in EDITS}
    return {name: _descriptors(renderer.render(item)) for name, item in items.items()}


CAPTION_MISSED = pytest.mark.xfail(
    strict=True, reason="known weakness: a caption band over a fifth of the frame changes a row of cells; at the "
    "threshold chosen on train (which has no captions) the benchmark finds 12 % of captioned copies on test "
    "(bench/RESULTS.md)"
)


@pytest.mark.parametrize("edit", [pytest.param(e, marks=CAPTION_MISSED) if e == "caption" else e for e in EDITS])
def test_each_edit_kind_is_found_as_a_copy(footage: dict[str, np.ndarray], edit: str) -> None:
    check = match(footage["original"], footage[edit])
    assert check.is_copy(THRESHOLD), f"{edit}: copy score {check.score:.3f} under {THRESHOLD}"
    assert check.mirrored == (edit == "flip")


def test_other_footage_of_the_subject_is_not_a_copy(footage: dict[str, np.ndarray]) -> None:
    check = match(footage["original"], footage["other footage"])
    assert not check.is_copy(THRESHOLD), f"other footage scored {check.score:.3f}"
    assert check.score < match(footage["original"], footage["look"]).score


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
