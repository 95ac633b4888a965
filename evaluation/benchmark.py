"""`vidstyle make-benchmark`: a labelled A/B/C benchmark of images, videos and three-panel videos.

Every item is one content (a photograph shipped in a pip package, or a drawn scene) rendered in one look (a real
image operation), as a PNG (kind `image`), a short H.264 video with camera motion (`video`), or a vertical video
whose moving content panel sits inside a static template covering most of the frame (`three_panel`).

Triplets follow docs/CONTRACT.md: A and C share style, B and C share content. For `three_panel`, A also shares C's
*template*: the case a whole-frame content vector gets wrong (two videos in the same template look alike
everywhere except the small moving panel), and the one static-template masking exists for.

Everything is deterministic from the seed: scenes, crops, camera paths, templates and the triplets drawn.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vidstyle.evaluation.errors import EvaluationError
from vidstyle.media.samples import CONTENTS, LOOKS, Image, camera_motion, render_scene, write_video

KINDS = ("image", "video", "three_panel")
BENCHMARK_LOOKS = tuple(look for look in LOOKS if look != "natural")
"""'natural' is no look at all: two untouched pictures share no style beyond their subjects' own colours (a
drawn cartoon and a photograph are both 'natural'), so a triplet claiming they share one would be noise."""
VIDEO_SIZE = 192
PANEL_FRAME_WH = (144, 256)  # 9:16 vertical frame
FPS, SECONDS = 10, 2.4


def _rng(*keys: object) -> np.random.Generator:
    """A generator seeded by stable hashes of `keys` (Python's hash() is salted per process)."""
    return np.random.default_rng([zlib.crc32(str(k).encode()) for k in keys])


# ---------------------------------------------------------------- templates
_WORDS = ("DAILY", "VLOG", "MUST SEE", "TOP 10", "WOW", "FOLLOW", "PART 2", "NEW", "LIVE", "TRAVEL", "FOOD",
          "MUSIC", "FUNNY", "#TREND", "LIKE", "SHARE")
_BACKDROPS = ("colorwheel", "immunohistochemistry", "hubble_deep_field", "retina", "gravel", "brick")


@dataclass(frozen=True)
class Template:
    """A static layout: the frame outside `panel` (x, y, w, h) never changes during a video."""

    template_id: str
    image: Image  # (H, W, 3) RGB, the full frame with the panel area left to be filled
    panel: tuple[int, int, int, int]


def _text(img: Image, words: str, y: int, colour: tuple[int, int, int], scale: float = 1.2) -> None:
    (tw, _), _ = cv2.getTextSize(words, cv2.FONT_HERSHEY_DUPLEX, scale, 3)
    cv2.putText(img, words, ((img.shape[1] - tw) // 2, y), cv2.FONT_HERSHEY_DUPLEX, scale, colour, 3, cv2.LINE_AA)


def _backdrop(name: str, wh: tuple[int, int]) -> Image:
    """A blurred, darkened photograph filling the frame: the 'blurred copies above and below' layout."""
    import skimage.data

    img = getattr(skimage.data, name)()
    img = np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img[..., :3]
    img = cv2.resize(np.ascontiguousarray(img), wh, interpolation=cv2.INTER_AREA)
    return (cv2.GaussianBlur(img, (0, 0), 9) * 0.7).astype(np.uint8)


def make_template(template_id: str, seed: int, frame_wh: tuple[int, int] = PANEL_FRAME_WH) -> Template:
    """One of four layout families (blurred backdrop, banners, letterbox, gradient), drawn from `seed`.

    The panel is full-width, 16:9, near the middle, so the template covers about two thirds of the frame.
    """
    rng = _rng(seed, "template", template_id)
    w, h = frame_wh
    ph = int(round(w * 9 / 16 / 2)) * 2
    py = int(np.clip(h / 2 - ph / 2 + rng.integers(-h // 8, h // 8), 24, h - ph - 24)) // 2 * 2
    family = ("backdrop", "banner", "letterbox", "gradient")[int(rng.integers(4))]
    colour = tuple(int(c) for c in rng.integers(30, 230, 3))
    accent = tuple(int(c) for c in rng.integers(0, 256, 3))
    if family == "backdrop":
        img = _backdrop(_BACKDROPS[int(rng.integers(len(_BACKDROPS)))], (w, h))
    elif family == "banner":
        img = np.empty((h, w, 3), np.uint8)
        img[:] = colour
        img[: py // 2] = accent
        for i in range(3):
            cv2.circle(img, (w - 20, py + ph + 30 + 34 * i), 11, (255, 255, 255), -1)
    elif family == "letterbox":
        img = np.zeros((h, w, 3), np.uint8)
        cv2.rectangle(img, (8, 8), (40, 40), accent, -1)
    else:
        t = np.linspace(0, 1, h)[:, None, None]
        img = ((1 - t) * np.array(colour) + t * np.array(accent) + np.zeros((1, w, 1))).astype(np.uint8)
        for yy in range(6, h, 18):
            for xx in range(6 + (yy // 18 % 2) * 9, w, 18):
                cv2.circle(img, (xx, yy), 2, (255, 255, 255), -1)
    words = [_WORDS[int(i)] for i in rng.choice(len(_WORDS), 2, replace=False)]
    fg = (255, 255, 255) if family != "banner" or sum(colour) < 380 else (20, 20, 20)
    _text(img, words[0], max(py // 2 + 14, 30), fg)
    _text(img, words[1], min(py + ph + (h - py - ph) // 2 + 12, h - 10), fg, 1.0)
    img[py : py + ph] = 0
    return Template(template_id, img, (0, py, w, ph))


def compose_three_panel(template: Image, panel_frames: Sequence[Image],
                        panel: tuple[int, int, int, int]) -> list[Image]:
    """Each panel frame pasted into the (already styled) static template."""
    x, y, w, h = panel
    out = []
    for f in panel_frames:
        frame = template.copy()
        frame[y : y + h, x : x + w] = f
        out.append(frame)
    return out


# ---------------------------------------------------------------- items and triplets
@dataclass(frozen=True)
class Item:
    kind: str
    content: str
    look: str
    template: str = ""

    @property
    def relpath(self) -> str:
        stem = f"{self.content}__{self.look}" + (f"__{self.template}" if self.template else "")
        return f"{self.kind}/{stem}.{'png' if self.kind == 'image' else 'mp4'}"


@dataclass
class Benchmark:
    out: Path
    triplets: list[tuple[Item, Item, Item]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def triplets_csv(self) -> Path:
        return self.out / "triplets.csv"

    @property
    def labels_csv(self) -> Path:
        return self.out / "labels.csv"


class _Renderer:
    """Renders items, caching each styled scene (content x look) across the items that reuse it."""

    def __init__(self, out: Path, seed: int) -> None:
        self.out, self.seed = out, seed
        self._scenes: dict[tuple[str, str], Image] = {}
        self._templates: dict[tuple[str, str], Template] = {}

    def scene(self, content: str, look: str) -> Image:
        key = (content, look)
        if key not in self._scenes:
            scene_seed = int(_rng(self.seed, "scene", content).integers(2**31))
            self._scenes[key] = render_scene(content, look, seed=scene_seed)
        return self._scenes[key]

    def styled_template(self, template_id: str, look: str) -> Template:
        """The template drawn at twice the size, styled with the look, then scaled down (looks assume detail)."""
        key = (template_id, look)
        if key not in self._templates:
            w, h = PANEL_FRAME_WH
            big = make_template(template_id, self.seed, (2 * w, 2 * h))
            styled = cv2.resize(LOOKS[look](big.image), (w, h), interpolation=cv2.INTER_AREA)
            x, y, pw, ph = big.panel
            self._templates[key] = Template(template_id, styled, (x // 2, y // 2, pw // 2, ph // 2))
        return self._templates[key]

    def render(self, item: Item) -> Path:
        path = self.out / item.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = _rng(self.seed, item.relpath)
        scene = self.scene(item.content, item.look)
        n_frames = int(SECONDS * FPS)
        if item.kind == "image":
            (frame,) = camera_motion(scene, 1, 256, rng)
            cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        elif item.kind == "video":
            write_video(path, camera_motion(scene, n_frames, VIDEO_SIZE, rng), fps=FPS, gop=FPS)
        else:
            t = self.styled_template(item.template, item.look)
            panel = camera_motion(scene, n_frames, (t.panel[2], t.panel[3]), rng)
            write_video(path, compose_three_panel(t.image, panel, t.panel), fps=FPS, gop=FPS)
        return path


def render_items(out: Path, items: Sequence[Item], seed: int = 0) -> list[Path]:
    """Render the given items under `out` (their `relpath`s), deterministically from `seed`."""
    renderer = _Renderer(Path(out), seed)
    return [renderer.render(item) for item in items]


def draw_triplets(kind: str, n: int, seed: int, contents: Sequence[str], looks: Sequence[str],
                  n_templates: int = 6) -> list[tuple[Item, Item, Item]]:
    """n distinct triplets (A, B, C): C = (X, L), A = (Y, L) other content, B = (X, L') other look.

    For three_panel, C and A share a template and B uses another one.
    """
    rng = _rng(seed, "triplets", kind)
    templates = [f"t{i}" for i in range(n_templates)]
    seen: set[tuple[Item, Item, Item]] = set()
    out: list[tuple[Item, Item, Item]] = []
    for _ in range(50 * n):
        if len(out) >= n:
            break
        x, y = (str(v) for v in rng.choice(list(contents), 2, replace=False))
        lc, lb = (str(v) for v in rng.choice(list(looks), 2, replace=False))
        tc, tb = (str(v) for v in rng.choice(templates, 2, replace=False)) if kind == "three_panel" else ("", "")
        trip = (Item(kind, y, lc, tc), Item(kind, x, lb, tb), Item(kind, x, lc, tc))
        if trip not in seen:
            seen.add(trip)
            out.append(trip)
    return out


def make_benchmark(out: Path, n: int = 30, seed: int = 0, kinds: Sequence[str] = KINDS,
                   contents: Sequence[str] | None = None, looks: Sequence[str] | None = None) -> Benchmark:
    """Write `n` triplets per kind under `out`, with `triplets.csv` and `labels.csv` (paths relative to `out`)."""
    out = Path(out)
    contents = list(contents or CONTENTS)
    looks = list(looks or BENCHMARK_LOOKS)
    if len(contents) < 2 or len(looks) < 2:
        raise EvaluationError("a benchmark needs at least two contents and two looks")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise EvaluationError(f"unknown kind(s) {unknown}; choose from {list(KINDS)}")
    bench = Benchmark(out)
    for kind in kinds:
        bench.triplets += draw_triplets(kind, n, seed, contents, looks)
    bench.items = list(dict.fromkeys(item for trip in bench.triplets for item in trip))
    render_items(out, bench.items, seed)
    out.mkdir(parents=True, exist_ok=True)
    with bench.triplets_csv.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "kind"])
        for a, b, c in bench.triplets:
            w.writerow([a.relpath, b.relpath, c.relpath, c.kind])
    with bench.labels_csv.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "content_id", "style_id", "kind", "template_id"])
        for item in bench.items:
            w.writerow([item.relpath, item.content, item.look, item.kind, item.template])
    return bench
