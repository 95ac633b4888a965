"""Labelled sample media: real photographs shipped in pip packages and drawn scenes (contents), rendered in
several looks made with real image operations (styles), written as H.264 videos with camera motion.

Used by `vidstyle demo` and the tests; deterministic from the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

Image = np.ndarray  # (H, W, 3) uint8 RGB


# ---------------------------------------------------------------- contents
def _photo(name: str) -> Callable[[np.random.Generator], Image]:
    def load(_: np.random.Generator) -> Image:
        if name in {"china", "flower"}:
            from sklearn.datasets import load_sample_image

            img = load_sample_image(f"{name}.jpg")
        else:
            import skimage.data

            img = getattr(skimage.data, name)()
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        return np.ascontiguousarray(img[..., :3])

    return load


def _drawn_city(rng: np.random.Generator) -> Image:
    img = np.zeros((360, 480, 3), np.uint8)
    img[:] = (40, 60, 120)
    x = 0
    while x < 480:
        w, h = int(rng.integers(40, 90)), int(rng.integers(120, 330))
        shade = int(rng.integers(70, 150))
        cv2.rectangle(img, (x, 360 - h), (x + w, 360), (shade, shade, shade + 10), -1)
        for wy in range(360 - h + 10, 350, 22):
            for wx in range(x + 6, x + w - 10, 16):
                cv2.rectangle(img, (wx, wy), (wx + 8, wy + 12), (240, 220, 120), -1)
        x += w + int(rng.integers(2, 10))
    return img


def _drawn_shapes(rng: np.random.Generator) -> Image:
    img = np.full((360, 480, 3), 235, np.uint8)
    for _ in range(14):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, 480)), int(rng.integers(0, 360)))
        if rng.random() < 0.5:
            cv2.circle(img, centre, int(rng.integers(15, 60)), colour, -1)
        else:
            pts = rng.integers(0, [480, 360], size=(3, 2)).astype(np.int32)
            cv2.fillPoly(img, [pts], colour)
    return img


CONTENTS: dict[str, Callable[[np.random.Generator], Image]] = {
    "cat": _photo("chelsea"),
    "coffee": _photo("coffee"),
    "astronaut": _photo("astronaut"),
    "rocket": _photo("rocket"),
    "china": _photo("china"),
    "flower": _photo("flower"),
    "coins": _photo("coins"),
    "city": _drawn_city,
    "shapes": _drawn_shapes,
}


# ---------------------------------------------------------------- looks
def _grade(img: Image, matrix: Sequence[Sequence[float]], offset: Sequence[float] = (0, 0, 0)) -> Image:
    out = img.astype(np.float32) @ np.asarray(matrix, np.float32).T + np.asarray(offset, np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def look_natural(img: Image) -> Image:
    return img


def look_sepia(img: Image) -> Image:
    return _grade(img, [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])


def look_pencil(img: Image) -> Image:
    gray, _ = cv2.pencilSketch(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), sigma_s=40, sigma_r=0.08, shade_factor=0.05)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def look_cartoon(img: Image) -> Image:
    out = cv2.stylization(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), sigma_s=60, sigma_r=0.45)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def look_halftone(img: Image, cell: int = 6) -> Image:
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    h, w = gray.shape
    out = np.full((h, w, 3), 250, np.uint8)
    small = cv2.resize(gray, (w // cell, h // cell), interpolation=cv2.INTER_AREA)
    for y in range(small.shape[0]):
        for x in range(small.shape[1]):
            r = int((1 - small[y, x]) * cell * 0.7)
            if r > 0:
                cv2.circle(out, (x * cell + cell // 2, y * cell + cell // 2), r, (20, 30, 90), -1)
    return out


def look_neon(img: Image) -> Image:
    edges = cv2.Canny(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 60, 150)
    edges = cv2.dilate(edges, np.ones((2, 2), np.uint8))
    out = np.zeros_like(img)
    out[..., 0], out[..., 2] = edges, (edges * 0.8).astype(np.uint8)
    out[..., 1] = (edges * 0.2).astype(np.uint8)
    return cv2.GaussianBlur(out, (3, 3), 0) + (img // 10)


def look_posterize_cool(img: Image) -> Image:
    q = (img // 64) * 64 + 32
    return _grade(q, [[0.7, 0, 0], [0, 0.9, 0], [0, 0, 1.1]], (0, 10, 40))


def look_grain(img: Image) -> Image:
    rng = np.random.default_rng(int(img.sum()) % 2**32)
    warm = _grade(img, [[1.05, 0.05, 0], [0.02, 0.95, 0], [0, 0, 0.8]], (10, 0, -10))
    noisy = warm.astype(np.float32) + rng.normal(0, 28, img.shape[:2])[..., None]
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = 1 - 0.6 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / 2
    return np.clip(noisy * vignette[..., None], 0, 255).astype(np.uint8)


LOOKS: dict[str, Callable[[Image], Image]] = {
    "natural": look_natural,
    "sepia": look_sepia,
    "pencil": look_pencil,
    "cartoon": look_cartoon,
    "halftone": look_halftone,
    "neon": look_neon,
    "poster": look_posterize_cool,
    "grain": look_grain,
}


# ---------------------------------------------------------------- video
def write_video(path: Path, frames: Sequence[Image] | np.ndarray, fps: int = 10, gop: int = 10,
                codec: str = "libx264", rotation: int = 0) -> Path:
    """Encode RGB frames with a real codec (H.264 by default); `gop` sets the keyframe interval."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "preset": "veryfast"}
        else:
            stream.codec_context.gop_size = gop
        if rotation:
            stream.set_display_rotation(rotation)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def camera_motion(scene: Image, n_frames: int, size: int, rng: np.random.Generator) -> list[Image]:
    """A slow pan and zoom across `scene`: consecutive crops resized to size x size."""
    h, w = scene.shape[:2]
    crop0 = int(min(h, w) * rng.uniform(0.75, 0.9))
    crop1 = int(crop0 * rng.uniform(0.85, 1.0))
    x0, y0 = rng.uniform(0, w - crop0), rng.uniform(0, h - crop0)
    x1, y1 = rng.uniform(0, w - crop1), rng.uniform(0, h - crop1)
    frames = []
    for t in np.linspace(0, 1, n_frames):
        c = int(crop0 + (crop1 - crop0) * t)
        x, y = int(x0 + (x1 - x0) * t), int(y0 + (y1 - y0) * t)
        frames.append(cv2.resize(scene[y : y + c, x : x + c], (size, size), interpolation=cv2.INTER_AREA))
    return frames


def render_scene(content: str, look: str, seed: int = 0, long_side: int = 480) -> Image:
    """One content drawn in one look, scaled so its long side is `long_side`."""
    rng = np.random.default_rng(seed)
    scene = CONTENTS[content](rng)
    scale = long_side / max(scene.shape[:2])
    scene = cv2.resize(scene, (int(scene.shape[1] * scale), int(scene.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return LOOKS[look](scene)


@dataclass(frozen=True)
class SampleVideo:
    path: Path
    content: str
    look: str


def make_catalogue(out: Path, contents: Sequence[str], looks: Sequence[str], seed: int = 0,
                   seconds: float = 3.0, fps: int = 10, size: int = 192) -> list[SampleVideo]:
    """One short H.264 video per (content, look) under `out/`, named `{content}__{look}.mp4`."""
    out = Path(out)
    videos = []
    for ci, content in enumerate(contents):
        for li, look in enumerate(looks):
            rng = np.random.default_rng([seed, ci, li])
            scene = render_scene(content, look, seed=seed + ci)
            frames = camera_motion(scene, int(seconds * fps), size, rng)
            path = write_video(out / f"{content}__{look}.mp4", frames, fps=fps, gop=fps)
            videos.append(SampleVideo(path, content, look))
    return videos
