"""`vidstyle make-benchmark`: a labelled A/B/C benchmark of images, videos and three-panel videos.

Every item is one content (a photograph shipped in a pip package, or a drawn scene) rendered in one look of the
look library (media/looks.py), as a PNG (kind `image`), a short H.264 video with camera motion (`video`), or a
vertical video whose moving content panel sits inside a static template covering most of the frame (`three_panel`).

Each item draws its own instance of its look (strength, palette, texture scale, texture seeds), seeded by the
benchmark's seed and the item: two items of one look share the look, not its parameters, so "same style" is tested
as "same look", the way a viewer sees it. `split` restricts the looks to the training or the held-out families
(media.looks.SPLITS), so that choices made on one split can be judged on the other.

Triplets follow docs/CONTRACT.md: A and C share style, B and C share content. For `three_panel`, A also shares C's
*template*: the case a whole-frame content vector gets wrong (two videos in the same template look alike
everywhere except the small moving panel), and the one static-template masking exists for.

Everything is deterministic from the seed: scenes, crops, camera paths, templates and the triplets drawn.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vidstyle.core.files import atomic_write_bytes
from vidstyle.evaluation.errors import EvaluationError
from vidstyle.media.looks import LOOK_LIBRARY, Instance, UnknownLookError, get_look, looks_in
from vidstyle.media.samples import CONTENTS, Image, camera_motion, draw_scene, write_video

KINDS = ("image", "video", "three_panel")
SPLIT_NAMES = ("train", "heldout", "all")
BENCHMARK_LOOKS = tuple(LOOK_LIBRARY)
"""Every look of the library. 'natural' (the untouched picture) is none: two untouched pictures share no style
beyond their subjects' own colours (a drawn cartoon and a photograph are both 'natural'), so a triplet claiming
they share one would be noise."""
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

    @property
    def family(self) -> str:
        return get_look(self.look).family


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


def item_look(item: Item, seed: int) -> Instance:
    """The item's own instance of its look, from the benchmark's seed and the item: one for every frame of the
    item, another for the next item of the same look."""
    return get_look(item.look).sample(_rng(seed, "look", item.relpath))


class _Renderer:
    """Renders items, each in its own instance of its look, caching the unstyled scenes and templates."""

    def __init__(self, out: Path, seed: int) -> None:
        self.out, self.seed = out, seed
        self._scenes: dict[str, Image] = {}
        self._templates: dict[str, Template] = {}

    def scene(self, content: str) -> Image:
        if content not in self._scenes:
            self._scenes[content] = draw_scene(content, seed=int(_rng(self.seed, "scene", content).integers(2**31)))
        return self._scenes[content]

    def styled_template(self, template_id: str, look: Instance) -> Template:
        """The template drawn at twice the size, styled with the look, then scaled down (looks assume detail)."""
        if template_id not in self._templates:
            w, h = PANEL_FRAME_WH
            self._templates[template_id] = make_template(template_id, self.seed, (2 * w, 2 * h))
        big = self._templates[template_id]
        w, h = PANEL_FRAME_WH
        styled = cv2.resize(look(big.image), (w, h), interpolation=cv2.INTER_AREA)
        x, y, pw, ph = big.panel
        return Template(template_id, styled, (x // 2, y // 2, pw // 2, ph // 2))

    def render(self, item: Item) -> Path:
        path = self.out / item.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = _rng(self.seed, item.relpath)
        look = item_look(item, self.seed)
        scene = look(self.scene(item.content))
        n_frames = int(SECONDS * FPS)
        if item.kind == "image":
            (frame,) = camera_motion(scene, 1, 256, rng)
            cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        elif item.kind == "video":
            write_video(path, camera_motion(scene, n_frames, VIDEO_SIZE, rng), fps=FPS, gop=FPS)
        else:
            t = self.styled_template(item.template, look)
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


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """The whole CSV or nothing: written atomically, so an interrupted run never leaves a partial label file."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def benchmark_looks(split: str = "all", looks: Sequence[str] | None = None) -> list[str]:
    """The looks of a split's families ('train', 'heldout' or 'all'), or the given ones, each checked to be in it."""
    if split not in SPLIT_NAMES:
        raise EvaluationError(f"unknown split {split!r}; choose from {list(SPLIT_NAMES)}")
    allowed = looks_in(split)
    if not looks:
        return list(allowed)
    try:
        families = {name: get_look(name).family for name in looks}
    except UnknownLookError as exc:
        raise EvaluationError(str(exc)) from None
    outside = [name for name in looks if name not in allowed]
    if outside:
        raise EvaluationError(f"look(s) {outside} (families {sorted({families[n] for n in outside})}) are not in "
                              f"the {split!r} split; leave out --looks or choose from {list(allowed)}")
    return list(dict.fromkeys(looks))


def make_benchmark(out: Path, n: int = 30, seed: int = 0, kinds: Sequence[str] = KINDS,
                   contents: Sequence[str] | None = None, looks: Sequence[str] | None = None,
                   split: str = "all") -> Benchmark:
    """Write `n` triplets per kind under `out`, with `triplets.csv` and `labels.csv` (paths relative to `out`).

    The looks are `looks` if given, else every look of `split`'s families; each must belong to `split`.
    """
    out = Path(out)
    contents = list(contents or CONTENTS)
    looks = benchmark_looks(split, looks)
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
    _write_csv(bench.triplets_csv, ["a", "b", "c", "kind", "family"],
               [[a.relpath, b.relpath, c.relpath, c.kind, c.family] for a, b, c in bench.triplets])
    _write_csv(bench.labels_csv, ["path", "content_id", "style_id", "kind", "template_id", "style_family"],
               [[i.relpath, i.content, i.look, i.kind, i.template, i.family] for i in bench.items])
    return bench
