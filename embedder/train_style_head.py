"""Training the learned style head (`vidstyle train-style-head`): supervised contrastive, training looks only.

Data. Groups of scenes × look instances, every combination rendered: `contents_per_group` training scenes (photos
and drawings that are not the benchmark's subjects, each a random crop) and `looks_per_group` looks of the
*training* families (`media.looks.looks_in("train")`), each drawn once per group with its own parameters and
applied to every scene of the group. Each rendering is then cropped, squashed to the model's input square as the
decoder does, and degraded (JPEG at a random quality, sometimes a down-and-up scaling), so that positives differ
in subject, crop, scale and compression. A group holds the hard cases side by side: one scene in eight looks (must
be pushed apart) and one look on six scenes (must be pulled together). The held-out families are never rendered
here; that is what makes their benchmark numbers a test of generalisation.

Loss. Supervised contrastive (Khosla et al. 2020) with the look's name as the label: every other frame in the
same look is a positive, whatever its parameters, every other look a negative. Batches mix whole groups (hard
negatives) with a look-balanced sample (positives across groups).

Palette variants (`palette_variants` > 0). Most training families are told apart by texture, so a head trained on
them alone learns to discount colour; families decided by palette (inks, tints, papers) then fall to a plain
colour histogram. Each group therefore also renders a few of its look instances again through a fixed
re-colouring (`media.looks.palette_variant`: same textures and tones, another palette), labelled as looks of their
own (`halftone~palette2`). The pair sits in one group as hard negatives, which only colour can separate. Only
training-family looks and training scenes are re-coloured. The variants' statistics are cached apart from the
base data, so adding them does not recompute the rest.

Composed looks (`composed_looks` > 0). ~50 training looks are few for a head meant to recognise looks nobody here
wrote, and in each of them palette and texture come bundled one way. Each group therefore also renders this many
extra look instances that are compositions of two training looks from different families
(`media.looks.compose`: `pixel+sepia` is pixel art, then a sepia grade), each drawn once per group and applied to
all of the group's scenes, labelled by the ordered pair: hundreds of distinct looks in which palette and texture vary
independently (domain randomisation). Only training-family looks and training scenes; leaving a family out
(`exclude_families`) drops every composition that draws on it. Cached apart from the base data, as the palette
variants are.

Deep taps (`deep_taps`). The head may also read the channel statistics of deeper taps of the colour pass (strokes
and line kinds, which the low taps see only as texture); the head's layout names them (`deep/<tap>`), and the
extractor computes them only for such a head. Each tap's statistics are cached per data part apart from the rest,
so the other blocks and a head without deep taps stay exactly as they were.

The backbone is frozen, so the statistics of every training frame are computed once (and cached on disk); the
training loop only runs the head, a few seconds per hundred steps on a CPU. Everything is seeded, and a
checkpoint taken at any step resumes to the same weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_write
from vidstyle.core.settings import Settings
from vidstyle.embedder.features import STYLE_BLOCKS_VERSION, FeatureExtractor
from vidstyle.embedder.style_head import StyleHead, save_style_head
from vidstyle.media.looks import (
    LOOK_LIBRARY,
    compose,
    looks_in,
    palette_variant,
    source_families,
    variant_recolouring,
)

Image = np.ndarray


@dataclass(frozen=True)
class HeadTraining:
    """Everything that decides the trained head: same values, same seed → same weights."""

    groups: int = 24
    contents_per_group: int = 6
    looks_per_group: int = 8
    steps: int = 600
    group_batch: int = 2  # whole groups per batch (hard negatives: one scene in many looks)
    looks_batch: int = 12  # plus this many looks ...
    per_look: int = 4  # ... with this many frames each (positives across groups)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.1
    hidden: int = 512
    out_dim: int = 128
    split: str = "train"
    exclude_families: tuple[str, ...] = ()  # left out of training (leave-one-family-out validation)
    palette_variants: int = 0  # per group, this many look instances rendered again re-coloured, as looks of their own
    palettes_per_look: int = 2  # fixed re-colourings per look that a variant draws from
    palette_families: tuple[str, ...] = ("grade", "halftone", "texture")  # looks that may be re-coloured
    palette_gate: bool = False  # output also carries the RGB histogram at a weight the head predicts per frame
    composed_looks: int = 0  # per group, this many extra look instances composed of two training-family looks
    deep_taps: tuple[str, ...] = ()  # deeper taps whose channel statistics the head also reads (`deep/<tap>`)
    seed: int = 0

    def data_key(self) -> dict:
        """What decides the rendered frames; the split's looks are in it, so a look added to a family is new data."""
        keys = ("groups", "contents_per_group", "looks_per_group", "split", "seed")
        return {k: getattr(self, k) for k in keys} | {"looks": list(looks_in(self.split))}

    def palette_key(self) -> dict:
        return self.data_key() | {k: getattr(self, k) for k in ("palette_variants", "palettes_per_look",
                                                                 "palette_families")}

    def composed_key(self) -> dict:
        return self.data_key() | {"composed_looks": self.composed_looks}


class TrainingError(VidstyleError, ValueError):
    """A training run that cannot start or resume as asked."""


# ---------------------------------------------------------------- training scenes (never the benchmark's subjects)
def _skimage(name: str) -> Callable[[], Image]:
    def load() -> Image:
        import skimage.data

        img = np.asarray(getattr(skimage.data, name)())
        img = img.astype(np.uint8) * (255 if img.dtype == bool else 1)
        return np.ascontiguousarray(np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img[..., :3])

    return load


def _matplotlib(name: str) -> Callable[[], Image]:
    def load() -> Image:
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data(name) as fh:
            img = cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR)
        return np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))

    return load


TRAINING_PHOTOS: dict[str, Callable[[], Image]] = {
    "hubble": _skimage("hubble_deep_field"),
    "tissue": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "colorwheel": _skimage("colorwheel"),
    "clock": _skimage("clock"),
    "moon": _skimage("moon"),
    "cell": _skimage("cell"),
    "brick": _skimage("brick"),
    "grass": _skimage("grass"),
    "page": _skimage("page"),
    "text": _skimage("text"),
    "horse": _skimage("horse"),
    "hopper": _matplotlib("grace_hopper.jpg"),
}
"""Pictures bundled with installed packages that are *not* among `media.samples.CONTENTS` (the benchmark's)."""


def _drawn_scene(rng: np.random.Generator) -> Image:
    """A random drawing: a gradient ground, then bands, discs, polygons and lines in random colours."""
    h, w = 360, 480
    t = np.linspace(0, 1, h)[:, None, None]
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    img = ((1 - t) * top + t * bottom + np.zeros((1, w, 1))).astype(np.uint8)
    for _ in range(int(rng.integers(6, 20))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(4)
        if kind == 0:
            cv2.circle(img, tuple(int(v) for v in rng.integers(0, [w, h])), int(rng.integers(10, 90)), colour, -1)
        elif kind == 1:
            pts = rng.integers(0, [w, h], size=(int(rng.integers(3, 7)), 2)).astype(np.int32)
            cv2.fillPoly(img, [pts], colour)
        elif kind == 2:
            y = int(rng.integers(0, h))
            img[y : y + int(rng.integers(4, 40))] = colour
        else:
            p0, p1 = (tuple(int(v) for v in rng.integers(0, [w, h])) for _ in range(2))
            cv2.line(img, p0, p1, colour, int(rng.integers(1, 8)))
    return img


def training_scene(rng: np.random.Generator, photos: dict[str, Image]) -> Image:
    """A random crop (half to all of a photo, or a fresh drawing) scaled to a 480-pixel long side."""
    if rng.random() < 0.25:
        scene = _drawn_scene(rng)
    else:
        photo = photos[sorted(photos)[int(rng.integers(len(photos)))]]
        h, w = photo.shape[:2]
        side = rng.uniform(0.5, 1.0)
        ch, cw = max(int(h * side), 32), max(int(w * side * rng.uniform(0.75, 1.33)), 32)
        ch, cw = min(ch, h), min(cw, w)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        scene = photo[y : y + ch, x : x + cw]
    scale = 480 / max(scene.shape[:2])
    return cv2.resize(scene, (max(int(scene.shape[1] * scale), 8), max(int(scene.shape[0] * scale), 8)),
                      interpolation=cv2.INTER_AREA)


def _view(img: Image, size: int, rng: np.random.Generator) -> Image:
    """What the embedder would see of a rendering: a crop, squashed to the input square, compressed."""
    h, w = img.shape[:2]
    side = rng.uniform(0.7, 1.0)
    ch, cw = int(h * side), int(w * side)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    view = img[y : y + ch, x : x + cw]
    if rng.random() < 0.3:  # seen smaller than the input, as a low-resolution upload is
        small = int(size * rng.uniform(0.4, 0.8))
        view = cv2.resize(view, (small, small), interpolation=cv2.INTER_AREA)
    view = cv2.resize(view, (size, size), interpolation=cv2.INTER_AREA if view.shape[0] > size else cv2.INTER_LINEAR)
    if rng.random() < 0.8:
        quality = int(rng.integers(35, 95))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(view, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        view = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(view)


@dataclass
class TrainingFrames:
    frames: np.ndarray  # (n, S, S, 3) uint8
    labels: np.ndarray  # (n,) index into `looks`
    groups: np.ndarray  # (n,) group of each frame
    looks: list[str]


def training_look_names(cfg: HeadTraining) -> list[str]:
    """The labels' names: the split's looks, then (with palette variants) every variant a group may draw."""
    names = list(looks_in(cfg.split))
    if cfg.palette_variants <= 0:
        return names
    return names + [palette_variant(n, k).name for n in names if LOOK_LIBRARY[n].family in cfg.palette_families
                    for k in range(1, cfg.palettes_per_look + 1)]


def composition(rng: np.random.Generator, names: list[str]) -> tuple[str, str]:
    """Two looks of two different families among `names`, in the order they are applied (families drawn first, so
    each family is as likely as any other whatever its number of looks)."""
    families = sorted({LOOK_LIBRARY[n].family for n in names})
    first, second = rng.choice(len(families), 2, replace=False)
    pick = [[n for n in names if LOOK_LIBRARY[n].family == families[f]] for f in (first, second)]
    return tuple(str(looks[int(rng.integers(len(looks)))]) for looks in pick)  # type: ignore[return-value]


def render_training_frames(cfg: HeadTraining, size: int, progress: bool = False,
                           part: str = "all") -> TrainingFrames:
    """Every (scene, look instance) combination of every group, from the training families only, (with
    `palette_variants`) the re-coloured copies of some of those instances and (with `composed_looks`) the group's
    composed look instances on the same scenes. `part`: "base", "palette", "composed" or "all"; the composed
    part's labels index its own names (the compositions it drew)."""
    names = list(looks_in(cfg.split))
    if len(names) < cfg.looks_per_group:
        raise TrainingError(f"split {cfg.split!r} has {len(names)} looks; looks_per_group is {cfg.looks_per_group}")
    all_names = training_look_names(cfg)
    photos = {name: load() for name, load in TRAINING_PHOTOS.items()}
    base: tuple[list, list, list] = ([], [], [])
    shifted: tuple[list, list, list] = ([], [], [])
    composed: tuple[list, list, list] = ([], [], [])
    composed_names: dict[str, int] = {}
    offset = len(all_names) if part == "all" else 0  # the composed labels follow the others' in one frame set
    for g in tqdm(range(cfg.groups), desc="rendering training looks", disable=not progress):
        rng = np.random.default_rng([cfg.seed, g])
        scenes = [training_scene(rng, photos) for _ in range(cfg.contents_per_group)]
        if part in ("composed", "all") and cfg.composed_looks > 0:
            crng = np.random.default_rng([cfg.seed, g, 2])  # a stream of its own: the other data stays as it was
            for _ in range(cfg.composed_looks):
                look = compose(*composition(crng, names))
                label = composed_names.setdefault(look.name, offset + len(composed_names))
                instance = look.sample(crng)
                for scene in scenes:
                    _append(composed, _view(instance(scene), size, crng), label, g)
        if part == "composed":
            continue
        renders: dict[int, list[Image]] = {}
        for li in rng.choice(len(names), cfg.looks_per_group, replace=False):
            instance = LOOK_LIBRARY[names[li]].sample(rng)
            renders[int(li)] = [instance(scene) for scene in scenes]
            for img in renders[int(li)]:  # the base views draw from `rng` even when only the variants are kept
                view = _view(img, size, rng)
                if part != "palette":
                    _append(base, view, int(li), g)
        if part == "base" or cfg.palette_variants <= 0:
            continue
        vrng = np.random.default_rng([cfg.seed, g, 1])  # a stream of its own: the base data stays as it was
        eligible = [li for li in renders if LOOK_LIBRARY[names[li]].family in cfg.palette_families]
        for li in vrng.permutation(eligible)[: cfg.palette_variants]:
            k = int(vrng.integers(1, cfg.palettes_per_look + 1))
            recolour, label = variant_recolouring(names[li], k), all_names.index(palette_variant(names[li], k).name)
            for img in renders[int(li)]:
                _append(shifted, _view(recolour(img), size, vrng), label, g)
    names_out = list(composed_names) if part == "composed" else all_names + list(composed_names)
    frames, labels, groups = (a + b + c for a, b, c in zip(base, shifted, composed))
    if not frames:
        return TrainingFrames(np.empty((0, size, size, 3), np.uint8), np.empty(0, int), np.empty(0, int), names_out)
    return TrainingFrames(np.stack(frames), np.asarray(labels), np.asarray(groups), names_out)


def _append(into: tuple[list, list, list], frame: Image, label: int, group: int) -> None:
    into[0].append(frame)
    into[1].append(label)
    into[2].append(group)


def drawing_on_none(data: TrainingFrames, families: tuple[str, ...]) -> np.ndarray:
    """(n,) bool: the frames whose look draws on none of `families`, the data left when they are left out of
    training. A composition is dropped when either of its looks is of such a family, a palette variant with its
    look."""
    return np.array([not set(source_families(data.looks[i])) & set(families) for i in data.labels], bool)


def extract_blocks(fx: FeatureExtractor, frames: np.ndarray, batch: int = 32, progress: bool = False,
                   blocks: str = "all") -> np.ndarray:
    """(n, D) float32: the concatenated per-frame style blocks the head reads; `blocks`: "all", "base" (without the
    deep taps') or "deep" (the deep taps' alone)."""
    out = []
    for i in tqdm(range(0, len(frames), batch), desc="backbone statistics", disable=not progress):
        chunk = frames[i : i + batch]
        found = fx.deep_blocks(chunk) if blocks == "deep" else fx.style_blocks(chunk, deep=blocks == "all")[0]
        out.append(torch.cat(list(found.values()), dim=1).cpu().numpy().astype(np.float32))
    return np.concatenate(out)


def cached_blocks(fx: FeatureExtractor, cfg: HeadTraining, cache_dir: Path | None,
                  progress: bool = False) -> tuple[np.ndarray, TrainingFrames]:
    """The training set's statistics, from `cache_dir` when the same data and features were computed before.

    The base data, the palette variants and the composed looks are cached apart (the base file is the same with or
    without them), and each deep tap's blocks apart from the rest; the parts are joined by label name."""
    names = ["base"] + ["palette"] * (cfg.palette_variants > 0) + ["composed"] * (cfg.composed_looks > 0)
    parts = []
    for name in names:
        x, data = _cached_part(fx, cfg, cache_dir, name, progress)
        if fx.deep_taps:
            x = np.concatenate([x, _cached_deep(fx, cfg, cache_dir, name, progress)], 1)
        parts.append((x, data))
    if len(parts) == 1:
        return parts[0]
    names = list(dict.fromkeys(name for _, part in parts for name in part.looks))
    index = {name: i for i, name in enumerate(names)}
    labels = [np.asarray([index[part.looks[i]] for i in part.labels], np.int64) for _, part in parts]
    return np.concatenate([x for x, _ in parts]), TrainingFrames(
        np.empty(0), np.concatenate(labels), np.concatenate([part.groups for _, part in parts]), names)


def _cached_part(fx: FeatureExtractor, cfg: HeadTraining, cache_dir: Path | None, part: str,
                 progress: bool) -> tuple[np.ndarray, TrainingFrames]:
    path = _cache_path(fx, cfg, cache_dir, part, fx.block_layout(deep=False))
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            data = TrainingFrames(np.empty(0), z["labels"], z["groups"], [str(s) for s in z["looks"]])
            return z["x"], data
    data = render_training_frames(cfg, fx.settings.input_size, progress, part)
    x = extract_blocks(fx, data.frames, fx.settings.batch_size, progress, blocks="base")
    if path is not None:
        _save_npz(path, x=x, labels=data.labels, groups=data.groups, looks=np.asarray(data.looks))
    return x, data


def _cached_deep(fx: FeatureExtractor, cfg: HeadTraining, cache_dir: Path | None, part: str,
                 progress: bool) -> np.ndarray:
    """(n, D) the deep taps' blocks of a data part, in the rows of `_cached_part`'s (the same seeded rendering);
    one file per tap, so a second tap adds a file and reuses the first."""
    layout = fx.block_layout()
    paths = {t: _cache_path(fx, cfg, cache_dir, f"{part}/deep", {f"deep/{t}": layout[f"deep/{t}"]})
             for t in fx.deep_taps}
    found = {}
    for t, path in paths.items():
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as z:
                found[t] = z["x"]
    missing = [t for t in fx.deep_taps if t not in found]
    if missing:
        x = extract_blocks(fx, render_training_frames(cfg, fx.settings.input_size, progress, part).frames,
                           fx.settings.batch_size, progress, blocks="deep")
        edges = np.cumsum([0, *(layout[f"deep/{t}"] for t in fx.deep_taps)])
        for t, a, b in zip(fx.deep_taps, edges[:-1], edges[1:]):
            if t in missing:
                found[t] = x[:, a:b]
                if paths[t] is not None:
                    _save_npz(paths[t], x=found[t])
    return np.concatenate([found[t] for t in fx.deep_taps], 1)


def _cache_path(fx: FeatureExtractor, cfg: HeadTraining, cache_dir: Path | None, part: str,
                layout: dict[str, int]) -> Path | None:
    data_part = part.split("/")[0]
    data_key = {"base": cfg.data_key, "palette": cfg.palette_key, "composed": cfg.composed_key}[data_part]()
    key = hashlib.sha256(json.dumps([data_key, STYLE_BLOCKS_VERSION, fx.head_features(),
                                     list(layout.items())], sort_keys=True).encode()).hexdigest()[:16]
    stem = {"base": "style-head-data", "palette": "style-head-palette", "composed": "style-head-composed"}[data_part]
    if part.endswith("/deep"):
        stem = stem.replace("style-head-", "style-head-deep-")
    return None if cache_dir is None else Path(cache_dir) / f"{stem}-{key}.npz"


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would add ".npz" to a bare temp name
            np.savez(fh, **arrays)

    atomic_write(path, write)


# ---------------------------------------------------------------- loss and loop
def supcon_loss(z: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss over unit vectors `z` (Khosla et al. 2020, the L_out form)."""
    logits = z @ z.T / temperature
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    count = positives.sum(1)
    keep = count > 0
    mean_log_prob = torch.where(positives, log_prob, torch.zeros_like(log_prob)).sum(1)[keep] / count[keep]
    return -mean_log_prob.mean()


def _batch(rng: np.random.Generator, labels: np.ndarray, groups: np.ndarray, cfg: HeadTraining) -> np.ndarray:
    chosen = rng.choice(np.unique(groups), cfg.group_batch, replace=False)
    idx = [np.flatnonzero(np.isin(groups, chosen))]
    present = np.unique(labels)
    for label in rng.choice(present, min(cfg.looks_batch, len(present)), replace=False):
        pool = np.flatnonzero(labels == label)
        idx.append(rng.choice(pool, min(cfg.per_look, len(pool)), replace=False))
    return np.concatenate(idx)


def _checkpoint(path: Path, head: StyleHead, opt: torch.optim.Optimizer, rng: np.random.Generator, step: int,
                cfg: HeadTraining, losses: list[float]) -> None:
    state = {"step": step, "head": head.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state,
             "torch_rng": torch.get_rng_state(), "cfg": asdict(cfg), "losses": losses}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def train_style_head(settings: Settings, out: Path, cfg: HeadTraining = HeadTraining(), cache_dir: Path | None = None,
                     resume: Path | None = None, checkpoint_every: int = 100, progress: bool = True,
                     stop_after: int | None = None) -> dict:
    """Train a head for `settings.model`'s features and write it to `out`; returns the training record.

    `resume`: a `.state` file written beside an earlier run's `out` (every `checkpoint_every` steps); the run goes
    on from its step with the same batches, so the result equals an uninterrupted run's. `stop_after` ends the run
    after that many steps (for tests of resumption), leaving the state file.
    """
    from vidstyle.backbones import load_backbone

    m = settings.model.model_copy(update={"style_head": None, "style_representation": "texture"})
    backbone = load_backbone(m.backbone, m.weights_path)
    fx = FeatureExtractor(backbone, m, deep_taps=cfg.deep_taps)
    started = time.perf_counter()
    x, data = cached_blocks(fx, cfg, cache_dir, progress)
    data_s = time.perf_counter() - started

    if cfg.exclude_families:
        keep = drawing_on_none(data, cfg.exclude_families)
        x, data = x[keep], TrainingFrames(data.frames, data.labels[keep], data.groups[keep], data.looks)
    torch.manual_seed(cfg.seed)
    head = StyleHead(fx.block_layout(), fx.head_features(), cfg.hidden, cfg.out_dim, cfg.palette_gate)
    xt = torch.from_numpy(x)
    head.mean.copy_(xt.mean(0))
    head.std.copy_(xt.std(0).clamp_min(1e-4))
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng([cfg.seed, 1])
    step, losses = 0, []
    state_path = Path(str(out) + ".state")
    if resume is not None:
        state = torch.load(resume, map_location="cpu", weights_only=False)
        if state["cfg"] != asdict(cfg):
            raise TrainingError(f"{resume} was trained with other settings: {state['cfg']}")
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        step, losses = state["step"], list(state["losses"])
    labels_t = torch.from_numpy(data.labels)
    head.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="training style head", disable=not progress)
    while step < cfg.steps:
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))  # cosine schedule
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.from_numpy(_batch(rng, data.labels, data.groups, cfg))
        loss = supcon_loss(head(xt[idx]), labels_t[idx], cfg.temperature)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        if step % checkpoint_every == 0 or step == cfg.steps:
            _checkpoint(state_path, head, opt, rng, step, cfg, losses)
        if stop_after is not None and step >= stop_after:
            bar.close()
            return {"stopped_at": step, "losses": losses}
    bar.close()
    head.eval()
    record = {"config": _recorded(cfg), "looks": [str(n) for n in np.asarray(data.looks)], "frames": len(data.labels),
              "loss_first": float(np.mean(losses[:20])), "loss_last": float(np.mean(losses[-20:]))}
    save_style_head(head, out, record)  # no timings in the file: the same command writes the same bytes
    timings = {"data_s": round(data_s, 1), "train_s": round(time.perf_counter() - started - data_s, 1)}
    return record | timings | {"losses": losses}


def _recorded(cfg: HeadTraining) -> dict:
    """The settings as the head file records them; the palette options, gate and compositions only when used, so
    that a head trained without them is the same file as before they existed. (The record's look names are fresh
    strings, never the interned names that the options also hold: pickle shares repeated objects, and the file would
    then depend on whether the data came from the cache or a fresh rendering.)"""
    record = asdict(cfg)
    if not cfg.palette_gate:
        del record["palette_gate"]
    if cfg.palette_variants <= 0:
        for key in ("palette_variants", "palettes_per_look", "palette_families"):
            del record[key]
    if cfg.composed_looks <= 0:
        del record["composed_looks"]
    if not cfg.deep_taps:
        del record["deep_taps"]
    return record


def embed_with_head(head: StyleHead, blocks: np.ndarray) -> np.ndarray:
    """Head outputs for rows of concatenated style blocks (evaluation without running the backbone again)."""
    with torch.inference_mode():
        return head(torch.from_numpy(blocks)).numpy()
