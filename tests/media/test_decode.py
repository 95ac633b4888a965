"""Keyframe selection and decoding on real encoded videos (H.264, AV1), rotation, and bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidstyle.media.decode import DecodeError, decode_file, select_frames
from vidstyle.media.samples import write_video


def gradient_frames(n: int, h: int = 96, w: int = 128) -> list[np.ndarray]:
    """Frame i is a horizontal gradient with a bright block whose row encodes i (readable after decoding)."""
    frames = []
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None]
        img[:16, :32] = 255  # top-left marker: tells orientation
        img[h - 8 :, :, 1] = int(i * 255 / max(n - 1, 1))  # green bottom stripe: tells the frame index
        frames.append(img)
    return frames


def test_select_frames_thins_keyframes_and_keeps_gap() -> None:
    keys = [0, 5, 10, 100, 200, 250, 300]
    chosen = select_frames(keys, n_frames=400, fps=25, max_frames=4, min_gap_s=1.0)
    assert len(chosen) == 4
    assert set(chosen) <= {0, 100, 200, 250, 300}  # 5 and 10 are within 1 s of 0
    assert all(b - a >= 25 for a, b in zip(chosen, chosen[1:]))


def test_select_frames_pads_with_uniform_samples() -> None:
    chosen = select_frames([0], n_frames=400, fps=25, max_frames=8, min_gap_s=1.0)
    assert len(chosen) == 8 and chosen[0] == 0
    assert all(b - a >= 25 for a, b in zip(chosen, chosen[1:]))


def test_select_frames_short_video_respects_gap() -> None:
    chosen = select_frames([0], n_frames=30, fps=25, max_frames=8, min_gap_s=1.0)
    assert len(chosen) == 2 and chosen[0] == 0 and chosen[1] - chosen[0] >= 25
    assert select_frames([], n_frames=1, fps=25, max_frames=8, min_gap_s=1.0) == [0]


def test_keyframes_and_timestamps(tmp_path: Path) -> None:
    # 6 s at 10 fps with a keyframe every 20 frames: keyframes at 0, 2, 4 s.
    path = write_video(tmp_path / "k.mp4", gradient_frames(60), fps=10, gop=20)
    d = decode_file(path, size=64, max_frames=3, min_gap_s=1.0)
    assert d.decoder == "decord"
    assert d.times == pytest.approx([0.0, 2.0, 4.0])
    assert d.frames.shape == (3, 64, 64, 3) and d.frames.dtype == np.uint8
    # the green stripe encodes the frame index: frames 0, 20, 40 of 60
    stripe = d.frames[:, -2, :, 1].mean(axis=1)
    assert stripe == pytest.approx([0, 20 * 255 / 59, 40 * 255 / 59], abs=12)
    assert len(d.thumbnails) == 3 and d.thumbnails[0][:2] == b"\xff\xd8"


def test_keyframes_padded_when_too_few(tmp_path: Path) -> None:
    path = write_video(tmp_path / "one_key.mp4", gradient_frames(50), fps=10, gop=1000)
    d = decode_file(path, size=64, max_frames=4, min_gap_s=1.0)
    assert len(d.times) == 4
    assert d.times[0] == 0.0
    assert all(b - a >= 1.0 - 1e-6 for a, b in zip(d.times, d.times[1:]))


def test_av1_falls_back_to_pyav(tmp_path: Path) -> None:
    path = write_video(tmp_path / "av1.mp4", gradient_frames(30), fps=10, gop=10, codec="libsvtav1")
    d = decode_file(path, size=64, max_frames=3, min_gap_s=1.0)
    assert d.decoder == "pyav"
    assert d.frames.shape == (3, 64, 64, 3)
    assert d.times == pytest.approx([0.0, 1.0, 2.0])


def test_forced_pyav_matches_decord(tmp_path: Path) -> None:
    path = write_video(tmp_path / "h264.mp4", gradient_frames(30), fps=10, gop=10)
    a = decode_file(path, size=64, max_frames=3, min_gap_s=1.0)
    b = decode_file(path, size=64, max_frames=3, min_gap_s=1.0, force_pyav=True)
    assert b.decoder == "pyav" and a.times == pytest.approx(b.times)
    assert np.abs(a.frames.astype(int) - b.frames.astype(int)).mean() < 8


@pytest.mark.parametrize("force_pyav", [False, True])
def test_rotation_metadata_is_honoured(tmp_path: Path, force_pyav: bool) -> None:
    frames = gradient_frames(20, h=64, w=128)
    path = write_video(tmp_path / "rot.mp4", frames, fps=10, gop=10, rotation=90)
    d = decode_file(path, size=64, max_frames=1, min_gap_s=1.0, force_pyav=force_pyav)
    # Display orientation = stored frame turned 90° counter-clockwise: the top-left marker ends bottom-left.
    frame = d.frames[0].astype(int)
    assert frame[-6:, :6].mean() > 200, "marker should be bottom-left after rotation"
    assert frame[:6, :6, 1].mean() < 60
    width, height = Image.open(io.BytesIO(d.thumbnails[0])).size
    assert height > width, "thumbnails keep the display aspect ratio"


def test_huge_resolution_is_downscaled_on_decode(tmp_path: Path) -> None:
    big = [np.full((2160, 3840, 3), 90 + i, np.uint8) for i in range(3)]
    path = write_video(tmp_path / "4k.mp4", big, fps=3, gop=3)
    d = decode_file(path, size=96, max_frames=2, min_gap_s=0.1)
    assert d.frames.shape[1:] == (96, 96, 3)


def test_bad_files_raise_reasons(tmp_path: Path) -> None:
    good = write_video(tmp_path / "good.mp4", gradient_frames(30), fps=10)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 100)
    data = good.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 3])
    corrupt = bytearray(data)
    corrupt[:64] = b"\x00" * 64
    (tmp_path / "corrupt.mp4").write_bytes(bytes(corrupt))
    reasons = {}
    for name in ("empty", "text", "truncated", "corrupt"):
        with pytest.raises(DecodeError) as exc:
            decode_file(tmp_path / f"{name}.mp4", size=64, max_frames=3, min_gap_s=1.0)
        reasons[name] = str(exc.value)
    assert "empty" in reasons["empty"]
    assert all(reasons.values())
    with pytest.raises(DecodeError, match="limit"):
        decode_file(good, size=64, max_frames=3, min_gap_s=1.0, max_file_mb=0)
