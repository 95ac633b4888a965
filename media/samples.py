"""Labelled sample media: real photographs shipped in pip packages and drawn scenes (contents), rendered in
the looks of the look library (media/looks.py; styles), written as H.264 videos with camera motion.

Used by `vidstyle demo` and the tests; deterministic from the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from vidstyle.media.looks import LOOK_LIBRARY, Image


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


def _stereo_left(_: np.random.Generator) -> Image:
    import skimage.data

    left, _right, _disp = skimage.data.stereo_motorcycle()
    return np.ascontiguousarray(left[..., :3])


def _drawn_landscape(rng: np.random.Generator) -> Image:
    """Sky gradient, sun, three ridges of mountains and a lake with a reflection."""
    h, w = 360, 480
    t = np.linspace(0, 1, h)[:, None, None]
    img = ((1 - t) * np.array([90, 150, 230]) + t * np.array([250, 200, 150])) * np.ones((1, w, 1))
    img = img.astype(np.uint8)
    cv2.circle(img, (int(rng.integers(60, 420)), int(rng.integers(50, 120))), 32, (255, 235, 140), -1)
    for layer, base in enumerate((150, 190, 230)):
        xs = np.linspace(0, w, 9).astype(int)
        ys = base - rng.integers(20, 90, size=9) + 0 * xs
        pts = np.array([[0, h]] + [[x, y] for x, y in zip(xs, ys)] + [[w, h]], np.int32)
        shade = 60 + 40 * layer
        cv2.fillPoly(img, [pts], (shade // 2, shade, shade // 2 + 20))
    lake = img[230:290][::-1].copy()
    img[290:350] = (lake * np.array([0.6, 0.7, 0.9])).astype(np.uint8)
    return img


def _drawn_sea(rng: np.random.Generator) -> Image:
    """Horizon, wavy sea stripes and a few sailing boats."""
    h, w = 360, 480
    img = np.zeros((h, w, 3), np.uint8)
    img[:150] = (150, 200, 240)
    for y in range(150, h, 6):
        c = 40 + (y - 150) // 3
        img[y : y + 6] = (20, 60 + c // 2, 110 + c)
        xs = np.arange(0, w, 4)
        pts = np.stack([xs, y + 3 * np.sin(xs / 17.0 + y)], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, (200, 220, 255), 1)
    for _ in range(4):
        x, y = int(rng.integers(30, 430)), int(rng.integers(170, 300))
        cv2.fillPoly(img, [np.array([[x, y], [x + 50, y], [x + 40, y + 12], [x + 8, y + 12]], np.int32)], (90, 40, 20))
        cv2.fillPoly(img, [np.array([[x + 24, y - 2], [x + 24, y - 50], [x + 48, y - 4]], np.int32)], (250, 250, 240))
    return img


def _drawn_room(rng: np.random.Generator) -> Image:
    """A room in one-point perspective: checker floor, window, table, lamp."""
    h, w = 360, 480
    img = np.full((h, w, 3), (200, 180, 150), np.uint8)
    cv2.fillPoly(img, [np.array([[0, h], [140, 220], [340, 220], [w, h]], np.int32)], (90, 60, 40))
    for i in range(-8, 9):
        cv2.line(img, (240 + 30 * i, 220), (240 + 90 * i, h), (40, 25, 15), 2)
    for y in (240, 265, 300, 345):
        cv2.line(img, (0, y), (w, y), (40, 25, 15), 2)
    wx = int(rng.integers(40, 300))
    cv2.rectangle(img, (wx, 50), (wx + 120, 160), (170, 210, 250), -1)
    cv2.line(img, (wx + 60, 50), (wx + 60, 160), (255, 255, 255), 4)
    cv2.line(img, (wx, 105), (wx + 120, 105), (255, 255, 255), 4)
    cv2.rectangle(img, (170, 250), (320, 270), (120, 70, 30), -1)
    cv2.rectangle(img, (180, 270), (192, 330), (120, 70, 30), -1)
    cv2.rectangle(img, (298, 270), (310, 330), (120, 70, 30), -1)
    cv2.ellipse(img, (380, 120), (30, 22), 0, 180, 360, (240, 220, 90), -1)
    cv2.line(img, (380, 120), (380, 250), (30, 30, 30), 3)
    return img


def _drawn_portrait(rng: np.random.Generator) -> Image:
    """A cartoon face and shoulders on a plain backdrop."""
    h, w = 360, 480
    img = np.full((h, w, 3), tuple(int(c) for c in rng.integers(120, 220, 3)), np.uint8)
    cx = int(rng.integers(200, 280))
    cv2.ellipse(img, (cx, 380), (150, 110), 0, 180, 360, (40, 70, 140), -1)
    cv2.ellipse(img, (cx, 170), (85, 105), 0, 0, 360, (200, 160, 130), -1)
    cv2.ellipse(img, (cx, 95), (90, 45), 0, 180, 360, (60, 40, 20), -1)
    for dx in (-32, 32):
        cv2.circle(img, (cx + dx, 160), 12, (255, 255, 255), -1)
        cv2.circle(img, (cx + dx, 162), 6, (30, 30, 30), -1)
    cv2.ellipse(img, (cx, 225), (35, 14), 0, 0, 180, (150, 40, 40), 4)
    cv2.line(img, (cx, 170), (cx - 8, 200), (150, 110, 90), 3)
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
    "camera": _photo("camera"),
    "motorcycle": _stereo_left,
    "landscape": _drawn_landscape,
    "sea": _drawn_sea,
    "room": _drawn_room,
    "portrait": _drawn_portrait,
}
"""Every content is a distinct subject: a photograph bundled with scikit-image / scikit-learn, or a drawn scene."""


# ---------------------------------------------------------------- looks
class _TypicalLooks(Mapping[str, Callable[[Image], Image]]):
    """Look name -> one fixed instance of it (seed 0), drawn on first use: several looks import heavy modules."""

    def __init__(self) -> None:
        self._drawn: dict[str, Callable[[Image], Image]] = {}

    def __getitem__(self, name: str) -> Callable[[Image], Image]:
        if name == "natural":
            return look_natural
        if name not in self._drawn:
            if name not in LOOK_LIBRARY:
                raise KeyError(name)
            self._drawn[name] = LOOK_LIBRARY[name].instance(0)
        return self._drawn[name]

    def __iter__(self) -> Iterator[str]:
        return iter(("natural", *LOOK_LIBRARY))

    def __len__(self) -> int:
        return 1 + len(LOOK_LIBRARY)


def look_natural(img: Image) -> Image:
    return img


LOOKS: Mapping[str, Callable[[Image], Image]] = _TypicalLooks()
"""'natural' (the picture as it is) and one fixed instance of every look of the library (media/looks.py), for the
demo and the tests that want a look to be one fixed operation; the benchmark draws an instance per item instead."""


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


def camera_motion(scene: Image, n_frames: int, size: int | tuple[int, int], rng: np.random.Generator) -> list[Image]:
    """A slow pan and zoom across `scene`: consecutive crops resized to `size` (side, or (width, height)).

    The crops have the output's aspect ratio, so a wide panel gets a wide view of the scene, not a squashed one.
    """
    out_w, out_h = (size, size) if isinstance(size, int) else size
    aspect = out_w / out_h
    h, w = scene.shape[:2]
    full_h = min(h, w / aspect)  # tallest crop of this aspect that fits
    crop0 = full_h * rng.uniform(0.75, 0.9)
    crop1 = crop0 * rng.uniform(0.85, 1.0)
    x0, y0 = rng.uniform(0, w - crop0 * aspect), rng.uniform(0, h - crop0)
    x1, y1 = rng.uniform(0, w - crop1 * aspect), rng.uniform(0, h - crop1)
    frames = []
    for t in np.linspace(0, 1, n_frames):
        ch = crop0 + (crop1 - crop0) * t
        cw = ch * aspect
        x, y = int(x0 + (x1 - x0) * t), int(y0 + (y1 - y0) * t)
        crop = scene[y : y + int(ch), x : x + int(cw)]
        frames.append(cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA))
    return frames


def draw_scene(content: str, seed: int = 0, long_side: int = 480) -> Image:
    """One content as it is (no look), scaled so its long side is `long_side`."""
    scene = CONTENTS[content](np.random.default_rng(seed))
    scale = long_side / max(scene.shape[:2])
    return cv2.resize(scene, (int(scene.shape[1] * scale), int(scene.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def render_scene(content: str, look: str, seed: int = 0, long_side: int = 480) -> Image:
    """One content drawn in one look (its fixed instance in `LOOKS`), scaled so its long side is `long_side`."""
    return LOOKS[look](draw_scene(content, seed, long_side))


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
