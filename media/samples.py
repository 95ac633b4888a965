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
def _grade(img: Image, matrix: Sequence[Sequence[float]], offset: Sequence[float] = (0, 0, 0)) -> Image:
    out = img.astype(np.float32) @ np.asarray(matrix, np.float32).T + np.asarray(offset, np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


VIEW_SIDE = 192
"""Looks are applied to the full scene (long side 480) and seen in ~192 px videos: every look's own scale (dot
pitch, block size, grain, brush radius) is set relative to that viewing size so that it stays visible there."""


def _view_scale(img: Image) -> float:
    return max(img.shape[:2]) / VIEW_SIDE


def look_natural(img: Image) -> Image:
    return img


def look_sepia(img: Image) -> Image:
    return _grade(img, [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])


def look_pencil(img: Image) -> Image:
    """OpenCV's pencil sketch (shading strokes) with graphite outlines, so flat drawings keep their contours."""
    gray, _ = cv2.pencilSketch(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), sigma_s=40, sigma_r=0.08, shade_factor=0.05)
    edges = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (5, 5), 0), 30, 90)
    width = max(int(round(_view_scale(img) * 0.7)), 1)
    edges = cv2.dilate(edges, np.ones((width, width), np.uint8))
    gray = np.minimum(gray, np.where(edges > 0, 80, 255).astype(np.uint8))
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def look_cartoon(img: Image) -> Image:
    """Flat colour regions (OpenCV stylization) with bold black ink outlines."""
    k = _view_scale(img)
    flat = cv2.cvtColor(cv2.stylization(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), sigma_s=60, sigma_r=0.45),
                        cv2.COLOR_BGR2RGB)
    gray = cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 7)
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 9, 4)
    width = max(int(round(k * 0.8)), 1)
    edges = cv2.dilate(edges, np.ones((width, width), np.uint8))
    flat[edges > 0] = (15, 15, 15)
    return flat


def look_halftone(img: Image, cell: int | None = None) -> Image:
    """Single-ink newspaper halftone: one dot per cell, its radius set by the cell's darkness."""
    cell = cell or max(int(round(3.5 * _view_scale(img))), 4)
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
    width = max(int(round(_view_scale(img))), 2)
    edges = cv2.dilate(edges, np.ones((width, width), np.uint8))
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
    h, w = img.shape[:2]
    k = _view_scale(img)  # grain about one viewing pixel across
    grain = rng.normal(0, 28, (max(int(h / k), 1), max(int(w / k), 1))).astype(np.float32)
    noisy = warm.astype(np.float32) + cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = 1 - 0.6 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / 2
    return np.clip(noisy * vignette[..., None], 0, 255).astype(np.uint8)


def _box_mean(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.blur(x, (r, r), borderType=cv2.BORDER_REFLECT)


def look_oil(img: Image, radius: int | None = None) -> Image:
    """Kuwahara filter (each pixel takes the mean of the least-varied of its four quadrants: flat paint dabs),
    richer saturation, and the relief of a fixed canvas weave lit from the top left."""
    k = _view_scale(img)
    radius = radius or max(int(round(3 * k)), 5)
    f = img.astype(np.float32)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean, mean_sq = _box_mean(f, radius), _box_mean(gray, radius)
    var = _box_mean(gray * gray, radius) - mean_sq**2
    h, w = gray.shape
    best_var = np.full((h, w), np.inf, np.float32)
    out = np.zeros_like(f)
    o = radius // 2 + 1
    for dy, dx in ((-o, -o), (-o, o), (o, -o), (o, o)):
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        v = cv2.warpAffine(var, shift, (w, h), borderMode=cv2.BORDER_REFLECT)
        m = cv2.warpAffine(mean, shift, (w, h), borderMode=cv2.BORDER_REFLECT)
        better = v < best_var
        best_var[better], out[better] = v[better], m[better]
    hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.35, 0, 255)
    painted = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    return np.clip(painted * _canvas(h, w, k)[..., None], 0, 255).astype(np.uint8)


def _canvas(h: int, w: int, k: float, seed: int = 11) -> np.ndarray:
    """Shading in [0.8, 1.2] of a fixed canvas weave, threads ~2.5 viewing pixels wide.

    (Threads one viewing pixel wide alias away when the video is scaled down and compressed, leaving the oil
    look indistinguishable from flat cartoon shading.)"""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    thread = 2.5 * k
    weave = np.sin(xx * np.pi / thread) * np.sin(yy * np.pi / thread)
    weave += 0.5 * cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), k)
    relief = cv2.Sobel(weave, cv2.CV_32F, 1, 0) + cv2.Sobel(weave, cv2.CV_32F, 0, 1)
    return 1.0 + 0.2 * relief / (np.abs(relief).max() + 1e-6)


_PIXEL_PALETTE = np.array([[20, 12, 28], [68, 36, 52], [48, 52, 109], [78, 74, 78], [133, 76, 48], [52, 101, 36],
                           [208, 70, 72], [117, 113, 97], [89, 125, 206], [210, 125, 44], [133, 149, 161],
                           [109, 170, 44], [210, 170, 153], [109, 194, 202], [218, 212, 94], [222, 238, 214]],
                          np.float32)
"""DawnBringer's 16-colour palette (a classic pixel-art palette)."""


def look_pixel(img: Image, block: int | None = None) -> Image:
    """Pixel art: 1/block resolution, snapped to a 16-colour palette, blown up with hard nearest-neighbour edges."""
    block = block or max(int(round(4 * _view_scale(img))), 8)
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(w // block, 1), max(h // block, 1)), interpolation=cv2.INTER_AREA).astype(np.float32)
    d = ((small[:, :, None, :] - _PIXEL_PALETTE[None, None]) ** 2).sum(-1)
    snapped = _PIXEL_PALETTE[d.argmin(-1)].astype(np.uint8)
    return cv2.resize(snapped, (w, h), interpolation=cv2.INTER_NEAREST)


def _paper(h: int, w: int, k: float = 1.0, seed: int = 7) -> np.ndarray:
    """A fixed paper-fibre texture in [0.8, 1]: the same sheet under every watercolour."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 0.8 * k)
    noise += 0.5 * cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 6)
    noise = (noise - noise.min()) / (np.ptp(noise) + 1e-6)
    return 0.8 + 0.2 * noise


def look_watercolour(img: Image) -> Image:
    """Edge-preserving smoothing, washed-out pigment, darker pooled edges, on textured paper."""
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    smooth = cv2.edgePreservingFilter(bgr, flags=cv2.RECURS_FILTER, sigma_s=60, sigma_r=0.5)
    smooth = cv2.cvtColor(smooth, cv2.COLOR_BGR2RGB).astype(np.float32)
    washed = 255 - 0.7 * (255 - smooth)
    edges = cv2.Canny(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 50, 120).astype(np.float32) / 255
    edges = cv2.GaussianBlur(edges, (0, 0), 1.5)[..., None]
    pooled = washed * (1 - 0.35 * edges)
    h, w = img.shape[:2]
    return np.clip(pooled * _paper(h, w, _view_scale(img))[..., None], 0, 255).astype(np.uint8)


def _gradient_map(img: Image, stops: Sequence[Sequence[float]]) -> Image:
    """Luminance mapped through a piecewise-linear colour ramp (duotone, tritone)."""
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    stops_a = np.asarray(stops, np.float32)
    xs = np.linspace(0, 1, len(stops_a))
    return np.stack([np.interp(lum, xs, stops_a[:, c]) for c in range(3)], -1).astype(np.uint8)


def look_duotone(img: Image) -> Image:
    return _gradient_map(img, [(16, 28, 110), (40, 150, 170), (200, 255, 120)])


def look_thermal(img: Image) -> Image:
    """False-colour 'thermal camera': luminance through the inferno colormap, slightly blurred."""
    gray = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    return cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def look_teal_orange(img: Image) -> Image:
    """Blockbuster grade: S-curve contrast, teal shadows, orange highlights, raised saturation."""
    f = img.astype(np.float32) / 255
    f = 0.5 + (f - 0.5) * 1.25
    lum = f.mean(-1, keepdims=True)
    teal, orange = np.array([-0.08, 0.06, 0.12]), np.array([0.14, 0.03, -0.12])
    f = f + (1 - lum) * teal + lum * orange
    return np.clip(f * 255, 0, 255).astype(np.uint8)


def look_blueprint(img: Image) -> Image:
    """White line drawing on blueprint blue with a faint grid."""
    h, w = img.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    out[:] = (18, 60, 140)
    out[::24] = (60, 100, 175)
    out[:, ::24] = (60, 100, 175)
    edges = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (5, 5), 0), 40, 110)
    edges = cv2.dilate(edges, np.ones((2, 2), np.uint8))
    out[edges > 0] = (235, 245, 255)
    return out


def look_vintage(img: Image) -> Image:
    """Faded print: lifted blacks, compressed whites, green-yellow cast, low saturation, warm light leak."""
    f = img.astype(np.float32)
    gray = f.mean(-1, keepdims=True)
    f = 0.55 * f + 0.45 * gray
    f = 45 + f * 0.7
    f = f * np.array([1.05, 1.02, 0.82]) + np.array([0, 8, 0])
    h, w = img.shape[:2]
    leak = np.exp(-(((np.arange(w) - 0.9 * w) / (0.35 * w)) ** 2))[None, :, None] * np.array([60, 25, 0])
    return np.clip(f + leak, 0, 255).astype(np.uint8)


LOOKS: dict[str, Callable[[Image], Image]] = {
    "natural": look_natural,
    "sepia": look_sepia,
    "pencil": look_pencil,
    "cartoon": look_cartoon,
    "halftone": look_halftone,
    "neon": look_neon,
    "poster": look_posterize_cool,
    "grain": look_grain,
    "oil": look_oil,
    "pixel": look_pixel,
    "watercolour": look_watercolour,
    "duotone": look_duotone,
    "thermal": look_thermal,
    "teal_orange": look_teal_orange,
    "blueprint": look_blueprint,
    "vintage": look_vintage,
}
"""Each look is a real image operation a creator might apply (filters, grades, stylisations)."""


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
