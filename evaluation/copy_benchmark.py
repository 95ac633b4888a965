"""`vidstyle make-benchmark --copies`: copies of generated footage, and other footage of the same subjects.

A recommender must tell "the same footage, edited" from "another shot of the same subject": the first is a copy
and must never be recommended, the second is related content and should stay reachable. This writes both, as
real H.264 videos with a `labels.csv` that `vidstyle eval-recommend` reads.

- **Footage**: a subject (`media.samples.CONTENTS`) filmed by a camera path. Each subject has two shots, one
  panning over the left half of its scene (`f0`), one over the right half (`f1`); drawn scenes are also redrawn
  per shot. Two shots of a subject are different footage (never copies) that show the same subject.
- **Originals**: each shot once, in a look drawn from the split's looks.
- **Copies**: each shot again through a composed chain of edits (`EDITS`): a primary edit, cycling so every
  kind is equally covered, plus up to two more. Order of application: look (the scene re-rendered in another
  look, the same camera path), crop, flip, speed, caption, three-panel, compression.

Two splits, so the copy threshold and the blend are chosen on one and reported on the other (the project's rule):
`train` (seed `seed`, edits `TRAIN_EDITS`, looks `TRAIN_LOOKS`) and `test` (seed `seed + 1000`, every edit, the
fixed `HELDOUT_LOOKS` from held-out look families); flip, caption and three-panel are edit kinds `train` never
shows.

Columns of labels.csv: path (relative), content_id (subject), style_id (look), footage_id (copies share it),
edits ('+'-joined, empty for an original), primary_edit, split.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidstyle.evaluation.benchmark import PANEL_FRAME_WH, _rng, compose_three_panel, make_template
from vidstyle.evaluation.errors import EvaluationError
from vidstyle.media.samples import CONTENTS, Image, render_scene, write_video

EDITS = ("look", "crop", "flip", "speed", "caption", "three_panel", "compress")
TRAIN_EDITS = ("look", "crop", "speed", "compress")
HELDOUT_EDITS = tuple(e for e in EDITS if e not in TRAIN_EDITS)
TRAIN_LOOKS = ("sepia", "watercolour", "halftone", "poster", "oil", "duotone", "teal_orange")
"""Looks of the `train` split, all from the look library's training families (`media.looks.SPLITS`)."""
HELDOUT_LOOKS = ("vintage", "cyanotype", "ink", "charcoal", "blueprint")
"""Looks of the `test` split: a short fixed list from the held-out families (film, drawing, edge), so the split
never drifts when looks are added to the library, the style head never trained on their families, and each look
is shared by several test items (style precision@k needs same-look items that are not copies to find)."""
SPLITS = ("train", "test")
BACKGROUND_SEED = 7
"""The background set's seed: a training seed, neither split's (`splits(0)` uses 0 and 1000)."""
BACKGROUND_LOOKS = ("thermal", "line_screen", "cartoon", "ascii_art", "low_poly", "stained_glass", "pixel", "crt",
                    "pop_art", "riso", "ordered_dither", "palette_knife")
"""Looks of the background set: 12 looks of the training look families that `TRAIN_LOOKS` does not use, so the
background is other footage in other looks than the train split it is chosen on."""
BACKGROUND_SUBJECTS = ("cat", "coffee", "astronaut", "rocket", "china", "flower", "coins", "city", "shapes", "camera",
                       "motorcycle", "landscape", "sea", "room", "portrait")
"""Fixed here, so the set does not change when subjects are added to the sample library."""
SIZE, FPS, SECONDS = 192, 10, 4.0
LABEL_COLUMNS = ("path", "content_id", "style_id", "footage_id", "edits", "primary_edit", "split")


@dataclass(frozen=True)
class CopyItem:
    split: str
    content: str
    shot: int  # 0: the left half of the scene, 1: the right half
    look: str
    edits: tuple[str, ...] = ()
    number: int = 0  # copies of one shot are numbered

    @property
    def footage_id(self) -> str:
        return f"{self.split}/{self.content}/f{self.shot}"

    @property
    def relpath(self) -> str:
        name = "original" if not self.edits else f"copy{self.number}__{'+'.join(self.edits)}"
        return f"{self.split}/{self.content}__f{self.shot}__{self.look}__{name}.mp4"


@dataclass(frozen=True)
class SplitSpec:
    name: str
    seed: int
    edits: tuple[str, ...]
    looks: tuple[str, ...]


def splits(seed: int) -> tuple[SplitSpec, SplitSpec]:
    return (SplitSpec("train", seed, TRAIN_EDITS, TRAIN_LOOKS),
            SplitSpec("test", seed + 1000, EDITS, HELDOUT_LOOKS))


def background_spec() -> SplitSpec:
    """The copy background set (`vidstyle.embedder.copy_background`): the `train` split's generator, edits and
    name with `BACKGROUND_SEED` and `BACKGROUND_LOOKS`; training data only, never test footage or held-out looks."""
    return SplitSpec("train", BACKGROUND_SEED, TRAIN_EDITS, BACKGROUND_LOOKS)


def make_background_videos(out: Path) -> list[Path]:
    """Write the background set's 90 videos (originals and copies of `BACKGROUND_SUBJECTS`) under `out`. MPEG-4
    Part 2, not H.264: x264 gives other bytes from run to run (on one thread too), ffmpeg's MPEG-4 encoder the same
    bytes, so the set can be regenerated byte for byte."""
    spec = background_spec()
    renderer = _Renderer(Path(out), spec.seed, codec="mpeg4")
    return [renderer.render(item) for item in draw_items(spec, BACKGROUND_SUBJECTS)]


def draw_items(spec: SplitSpec, contents: Sequence[str], copies_per_shot: int = 2) -> list[CopyItem]:
    """The originals and copies of one split (module docstring), deterministic from its seed."""
    rng = _rng(spec.seed, "copy-items", spec.name)
    items: list[CopyItem] = []
    primary = 0
    for content in contents:
        for shot in (0, 1):
            look = str(rng.choice(spec.looks))
            items.append(CopyItem(spec.name, content, shot, look))
            for number in range(copies_per_shot):
                first = spec.edits[primary % len(spec.edits)]
                primary += 1
                extra = [str(e) for e in rng.choice(spec.edits, int(rng.integers(0, 3)), replace=False) if e != first]
                chain = tuple(e for e in EDITS if e == first or e in extra)
                new_look = str(rng.choice([lk for lk in spec.looks if lk != look])) if "look" in chain else look
                items.append(CopyItem(spec.name, content, shot, new_look, (first, *[e for e in chain if e != first]),
                                      number))
    return items


# ---------------------------------------------------------------- footage and edits
def _camera(scene: Image, shot: int, n: int, rng: np.random.Generator) -> list[Image]:
    """A slow pan with a slight zoom inside one half of the scene: the left half for shot 0, the right for 1.

    The two shots of a subject never see the same pixels, as two camera set-ups would not: one scene photographed
    twice, not one picture cropped twice (which would be a copy by the benchmark's own crop edit).
    """
    h, w = scene.shape[:2]
    half = w // 2
    left = 0 if shot == 0 else w - half
    c0 = min(h, half) * rng.uniform(0.8, 0.95)
    c1 = c0 * rng.uniform(0.85, 1.0)
    x0, y0 = left + rng.uniform(0, half - c0), rng.uniform(0, h - c0)
    x1, y1 = left + rng.uniform(0, half - c1), rng.uniform(0, h - c1)
    frames = []
    for t in np.linspace(0, 1, n):
        c = c0 + (c1 - c0) * t
        x, y = int(x0 + (x1 - x0) * t), int(y0 + (y1 - y0) * t)
        frames.append(cv2.resize(scene[y : y + int(c), x : x + int(c)], (SIZE, SIZE), interpolation=cv2.INTER_AREA))
    return frames


def _crop(frames: list[Image], rng: np.random.Generator) -> list[Image]:
    keep = rng.uniform(0.7, 0.9)
    h, w = frames[0].shape[:2]
    ch, cw = int(h * keep), int(w * keep)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return [cv2.resize(f[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_AREA) for f in frames]


def _speed(frames: list[Image], rng: np.random.Generator) -> list[Image]:
    factor = float(rng.choice([0.75, 1.5, 2.0]))
    idx = np.arange(0, len(frames), factor).astype(int)
    return [frames[i] for i in idx]


def _caption(frames: list[Image], rng: np.random.Generator) -> list[Image]:
    """A static caption band (a fifth of the height, top or bottom) with text, and a logo in a corner."""
    h, w = frames[0].shape[:2]
    band = h // 5
    top = bool(rng.integers(2))
    words = str(rng.choice(["WAIT FOR IT", "SO CUTE", "NO WAY", "#VIRAL", "LOOK AT THIS"]))
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    out = []
    for f in frames:
        f = f.copy()
        y0 = 0 if top else h - band
        f[y0 : y0 + band] = (f[y0 : y0 + band] * 0.3 + np.array(colour) * 0.7).astype(np.uint8)
        cv2.putText(f, words, (6, y0 + band - 10), cv2.FONT_HERSHEY_DUPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
        ly = h - band - 30 if top else band + 6
        cv2.rectangle(f, (w - 34, ly), (w - 8, ly + 24), (255, 255, 255), -1)
        out.append(f)
    return out


def _three_panel(frames: list[Image], seed: int, key: str) -> list[Image]:
    """The footage fitted into the panel of a static template (banners, backdrop) filling a 9:16 frame."""
    template = make_template(key, seed, PANEL_FRAME_WH)
    x, y, pw, ph = template.panel
    fitted = [cv2.resize(f, (pw, ph), interpolation=cv2.INTER_AREA) for f in frames]
    return compose_three_panel(template.image, fitted, template.panel)


def _compress(frames: list[Image], rng: np.random.Generator) -> list[Image]:
    """A low-quality re-upload: downscaled to 35-50 %, JPEG quality 10-20 per frame, scaled back up."""
    scale, quality = rng.uniform(0.35, 0.5), int(rng.integers(10, 21))
    h, w = frames[0].shape[:2]
    out = []
    for f in frames:
        small = cv2.resize(f, (max(int(w * scale), 8), max(int(h * scale), 8)), interpolation=cv2.INTER_AREA)
        _, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out.append(cv2.resize(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED), (w, h), interpolation=cv2.INTER_LINEAR))
    return out


class _Renderer:
    def __init__(self, out: Path, seed: int, codec: str = "libx264") -> None:
        self.out, self.seed, self.codec = out, seed, codec
        self._scenes: dict[tuple[str, int, str], Image] = {}

    def scene(self, content: str, shot: int, look: str) -> Image:
        key = (content, shot, look)
        if key not in self._scenes:
            # Photographs are one picture whatever the seed; drawn scenes are redrawn for each shot.
            scene_seed = int(_rng(self.seed, "copy-scene", content, shot).integers(2**31))
            self._scenes[key] = render_scene(content, look, seed=scene_seed)
        return self._scenes[key]

    def render(self, item: CopyItem) -> Path:
        path = self.out / item.relpath
        camera = _rng(self.seed, "camera", item.content, item.shot)
        frames = _camera(self.scene(item.content, item.shot, item.look), item.shot, int(SECONDS * FPS), camera)
        rng = _rng(self.seed, "edits", item.relpath)
        for edit in (e for e in EDITS if e in item.edits):
            if edit == "crop":
                frames = _crop(frames, rng)
            elif edit == "flip":
                frames = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
            elif edit == "speed":
                frames = _speed(frames, rng)
            elif edit == "caption":
                frames = _caption(frames, rng)
            elif edit == "three_panel":
                frames = _three_panel(frames, self.seed, f"{item.content}{item.shot}{item.number}")
            elif edit == "compress":
                frames = _compress(frames, rng)
        return write_video(path, frames, fps=FPS, gop=FPS, codec=self.codec)


@dataclass
class CopyBenchmark:
    out: Path
    items: list[CopyItem]

    @property
    def labels_csv(self) -> Path:
        return self.out / "labels.csv"


def make_copy_benchmark(out: Path, seed: int = 0, contents: Sequence[str] | None = None,
                        copies_per_shot: int = 2) -> CopyBenchmark:
    """Write both splits' videos under `out` and their `labels.csv` (module docstring)."""
    out = Path(out)
    contents = list(contents or CONTENTS)
    unknown = [c for c in contents if c not in CONTENTS]
    if unknown:
        raise EvaluationError(f"unknown content(s) {unknown}; choose from {sorted(CONTENTS)}")
    if copies_per_shot < 1:
        raise EvaluationError("a copy benchmark needs at least one copy per shot")
    items: list[CopyItem] = []
    for spec in splits(seed):
        renderer = _Renderer(out, spec.seed)
        split_items = draw_items(spec, contents, copies_per_shot)
        for item in split_items:
            renderer.render(item)
        items += split_items
    write_labels(out / "labels.csv", items)
    return CopyBenchmark(out, items)


def write_labels(path: Path, items: Sequence[CopyItem]) -> None:
    """`items`' labels.csv (`LABEL_COLUMNS`): what `eval-recommend` and the copy benches read back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LABEL_COLUMNS)
        for it in items:
            w.writerow([it.relpath, it.content, it.look, it.footage_id, "+".join(it.edits),
                        it.edits[0] if it.edits else "", it.split])

