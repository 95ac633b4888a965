"""Keyframe sampling and decoding of one video (decord, with PyAV as the fallback).

Runs inside a decode worker process (see `decode_pool`), so it imports no torch. Frames are scaled to the
model's square input by the decoder itself, so a huge resolution never materialises at full size in Python.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from vidstyle.core.errors import VidstyleError

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".flv", ".mpg", ".mpeg", ".ts", ".3gp"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
ANIMATED_SUFFIXES = frozenset({".gif"})  # images by policy (they need --include-images), decoded frame by frame
"""The one policy for images: `query --file`, uploads, training and evaluation take still and animated images as
one-frame (or, animated, many-frame) videos; `vidstyle embed` takes them only with `--include-images`, so a
catalogue of videos never fills with stray pictures. A file's bytes, not its name, say whether it is an image."""

_IMAGE_NAMES = {".png": "PNG", ".jpg": "JPEG", ".webp": "WebP", ".bmp": "BMP", ".gif": "GIF"}


class DecodeError(VidstyleError, RuntimeError):
    """The file cannot be turned into frames; the message is the reason stored in the dataset."""


@dataclass
class Decoded:
    frames: np.ndarray  # (n, S, S, 3) uint8 RGB, display orientation
    times: list[float]  # seconds, one per frame
    thumbnails: list[bytes] = field(default_factory=list)  # JPEG, display aspect ratio
    decoder: str = "decord"


def select_frames(key_indices: list[int], n_frames: int, fps: float, max_frames: int, min_gap_s: float) -> list[int]:
    """Keyframes thinned to ≤ `max_frames`, ≥ `min_gap_s` apart, padded with uniform samples if too few.

    Keyframes are where encoders put scene changes, so they are the cheapest good summary of a video;
    uniform padding keeps long single-shot videos (one keyframe) from being described by one frame.
    """
    if n_frames <= 0:
        return []
    fps = fps if fps > 0 else 25.0
    gap = max(int(round(min_gap_s * fps)), 1)

    def far_enough(i: int, chosen: list[int]) -> bool:
        return all(abs(i - c) >= gap for c in chosen)

    chosen: list[int] = []
    for k in sorted({k for k in key_indices if 0 <= k < n_frames}):
        if far_enough(k, chosen):
            chosen.append(k)
    if len(chosen) > max_frames:
        keep = np.linspace(0, len(chosen) - 1, max_frames).round().astype(int)
        chosen = [chosen[i] for i in keep]
    if len(chosen) < max_frames:
        # Candidates at the centres of max_frames equal segments first, then a finer grid.
        for count in (max_frames, 4 * max_frames):
            centres = ((np.arange(count) + 0.5) * n_frames / count).astype(int)
            for c in centres:
                if len(chosen) >= max_frames:
                    break
                if far_enough(int(c), chosen):
                    chosen.append(int(c))
    return sorted(chosen) or [0]


def _thumbnail(frame: np.ndarray, display_wh: tuple[int, int], long_side: int) -> bytes:
    w, h = display_wh
    scale = long_side / max(w, h, 1)
    size = (max(int(w * scale), 1), max(int(h * scale), 1))
    buf = io.BytesIO()
    Image.fromarray(frame).resize(size, Image.BILINEAR).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def _probe(path: Path) -> tuple[int, int, int]:
    """(width, height, rotation in degrees counter-clockwise) of the first video stream, via PyAV."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DecodeError("no video stream")
            stream = container.streams.video[0]
            w, h = stream.codec_context.width, stream.codec_context.height
            rotation = 0
            for frame in container.decode(stream):
                rotation = int(frame.rotation or 0)
                break
            return w, h, rotation
    except av.error.FFmpegError as exc:
        raise DecodeError(f"not a decodable video: {exc}") from exc


def _decode_decord(path: Path, size: int, max_frames: int, min_gap_s: float) -> tuple[np.ndarray, list[float]]:
    import decord

    # decord honours the display-matrix rotation itself; width/height make it scale while decoding.
    vr = decord.VideoReader(str(path), ctx=decord.cpu(0), width=size, height=size, num_threads=1)
    n, fps = len(vr), float(vr.get_avg_fps())
    indices = select_frames(list(vr.get_key_indices()), n, fps, max_frames, min_gap_s)
    frames = vr.get_batch(indices).asnumpy()
    return frames, [i / (fps or 25.0) for i in indices]


def _decode_pyav(path: Path, size: int, max_frames: int, min_gap_s: float, rotation: int):
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        # Demuxing without decoding gives frame count and keyframe positions cheaply.
        keys, count = [], 0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.is_keyframe:
                keys.append(count)
            count += 1
        wanted = select_frames(keys, count, fps, max_frames, min_gap_s)
        container.seek(0)
        frames, times, want = [], [], set(wanted)
        for i, frame in enumerate(container.decode(stream)):
            if i in want:
                rgb = frame.to_ndarray(format="rgb24", width=size, height=size)
                frames.append(np.ascontiguousarray(np.rot90(rgb, k=(rotation // 90) % 4)))
                times.append(float(frame.time) if frame.time is not None else i / fps)
            if i >= wanted[-1]:
                break
    if not frames:
        raise DecodeError("no frame could be decoded")
    return np.stack(frames), times


def _load_image(path: Path, size: int, thumbnail_px: int) -> Decoded:
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            wh = img.size
            frame = np.asarray(img.resize((size, size), Image.BILINEAR))
    except (OSError, Image.DecompressionBombError) as exc:
        raise DecodeError(f"not a decodable image: {exc}") from exc
    return Decoded(frame[None], [0.0], [_thumbnail(frame, wh, thumbnail_px)], decoder="pillow")


def sniff_suffix(head: bytes) -> str | None:
    """The suffix the decoder needs for a file starting with `head` (magic bytes), None when unrecognised.

    File names and Content-Types are not trusted: the bytes decide.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if head.startswith(b"BM") and len(head) >= 26 and head[14] in (12, 40, 56, 64, 108, 124):
        return ".bmp"  # the BMP info header's size, so text starting with "BM" is not taken for one
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return ".avi"
    if head[4:8] == b"ftyp":
        return ".mov" if head[8:10] == b"qt" else ".mp4"
    if head[4:8] in (b"moov", b"mdat", b"free", b"wide", b"skip"):
        return ".mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".mkv"  # Matroska and WebM share the EBML header
    if head.startswith(b"FLV\x01"):
        return ".flv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return ".mpg"
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:
        return ".ts"  # MPEG-TS: a sync byte every 188 bytes
    return None


def image_kind(path: Path) -> str | None:
    """".png", ".gif", ... when the file's bytes (or, unrecognised, its name) say it is an image; else None."""
    with open(path, "rb") as fh:
        sniffed = sniff_suffix(fh.read(512))
    suffix = sniffed or Path(path).suffix.lower()
    suffix = ".jpg" if suffix == ".jpeg" else suffix
    return suffix if suffix in IMAGE_SUFFIXES | ANIMATED_SUFFIXES else None


def decode_file(
    path: Path,
    size: int,
    max_frames: int,
    min_gap_s: float,
    thumbnail_px: int = 160,
    max_file_mb: int = 2048,
    force_pyav: bool = False,
    allow_images: bool = True,
) -> Decoded:
    """Sampled frames of a video (or of an image, when `allow_images`). Raises DecodeError with the reason."""
    path = Path(path)
    try:
        nbytes = os.path.getsize(path)
        image = image_kind(path) if nbytes else None
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror}") from exc
    if nbytes == 0:
        raise DecodeError("empty file (0 bytes)")
    if nbytes > max_file_mb * 2**20:
        raise DecodeError(f"file is {nbytes / 2**20:.0f} MiB, over the {max_file_mb} MiB limit (decode.max_file_mb)")
    if image is not None and not allow_images:
        raise DecodeError(f"not a video: the file is a {_IMAGE_NAMES[image]} image (embed takes images only with "
                          "--include-images)")
    if image in IMAGE_SUFFIXES:
        return _load_image(path, size, thumbnail_px)

    width, height, rotation = _probe(path)
    display = (height, width) if rotation % 180 else (width, height)
    decoder = "decord"
    try:
        if force_pyav:
            raise RuntimeError("PyAV forced")
        frames, times = _decode_decord(path, size, max_frames, min_gap_s)
    except Exception as decord_exc:  # noqa: BLE001 - decord raises bare DECORDError/RuntimeError on any codec issue
        decoder = "pyav"
        try:
            frames, times = _decode_pyav(path, size, max_frames, min_gap_s, rotation)
        except DecodeError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DecodeError(f"decord: {str(decord_exc).splitlines()[0][:200]}; pyav: {exc}") from exc
    thumbs = [_thumbnail(f, display, thumbnail_px) for f in frames]
    return Decoded(frames, times, thumbs, decoder=decoder)
