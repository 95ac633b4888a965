"""The look library: 67 looks in 9 families, each a *distribution* over one kind of rendering.

A look is what a creator applies to a whole video: a grade, a film stock, a halftone screen, a paint filter, a
drawing medium, a surface texture, a digital rendering, an edge or relief rendering. `look.sample(rng)` draws one
*instance* of it (its strength, palette, texture scale and the seeds of its textures) and returns a deterministic
`Image -> Image`; "same style" means "same look", so two instances of a look are the same style with different
parameters, and a model that recognises a look must recognise all of its instances.

One instance applied to every frame of a video keeps the video coherent: its parameters are fixed, its textures
are drawn from its own seed (never from the frame), and a texture that belongs to the screen (paper, grain, a
halftone screen, glitch bands) stays where it is while the picture moves under it.

Textures are sized in *viewing* pixels (`view_scale`): looks are applied to ~480 px scenes that are watched in
~192 px videos, and a dot pitch, grain or brush that is one scene pixel across would vanish under downscaling
and H.264.

Each look names the library that does its main work (`opencv`, `scikit-image`, `pillow`, `numpy`, `scipy`), so
that a learned embedding is tested against operations written in several ways, not one library's artefacts.

The split is fixed here, by family, so that every design choice and trained weight can be made on the training
families and judged on families it never saw. The held-out families are the kinds the embedding is known to get
wrong: `drawing` and `edge` keep little more than lines, edges or relief (content must survive them, style must
tell them apart), and `film` holds washed-out, low-contrast and grain looks and tone-curve pairs (faded print vs
bleach bypass) whose palette alone says little. The training families still span each of those skills (outlines
in `painterly`'s cartoon, dot and line screens in `halftone`, surface relief in `texture`, tone-only pairs in
`grade`), so a method can learn them without seeing the held-out renderings. The `light` family (screens and
light sources) was added to the training side because palette decides it: its looks recolour the whole picture and
add no texture, while the other training families mostly keep the subject's colours, so without it training data
taught a model to discount palette.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from vidstyle.core.errors import VidstyleError

Image = np.ndarray  # (H, W, 3) uint8 RGB
Instance = Callable[[Image], Image]
Sampler = Callable[[np.random.Generator], Instance]

VIEW_SIDE = 192
"""Looks are applied to the full scene (long side ~480) and seen in ~192 px videos: every look's own scale (dot
pitch, block size, grain, brush radius) is set relative to that viewing size so that it stays visible there."""


class UnknownLookError(VidstyleError, ValueError):
    """A look, family or split name that the library does not have (the message lists the known ones)."""


@dataclass(frozen=True)
class Look:
    """One look: `sample(rng)` draws an instance (fixed parameters and texture seeds) to apply to every frame."""

    name: str
    family: str
    library: str
    sample: Sampler
    summary: str = ""

    def instance(self, seed: int | Sequence[int]) -> Instance:
        """The instance drawn from `seed` (an int or a sequence of ints, as numpy's `default_rng` takes)."""
        return self.sample(np.random.default_rng(seed))


_REGISTRY: list[Look] = []


def _look(family: str, library: str) -> Callable[[Sampler], Sampler]:
    """Register a sampler under its function name; its docstring's first line is the look's summary."""

    def register(sampler: Sampler) -> Sampler:
        doc = (sampler.__doc__ or "").strip().splitlines()
        _REGISTRY.append(Look(sampler.__name__, family, library, sampler, doc[0] if doc else ""))
        return sampler

    return register


# ---------------------------------------------------------------- shared pieces
def view_scale(img: Image) -> float:
    """Scene pixels per viewing pixel."""
    return max(img.shape[:2]) / VIEW_SIDE


def _px(img: Image, viewing_px: float, least: int = 1) -> int:
    """`viewing_px` viewing pixels in this image's pixels, at least `least`."""
    return max(int(round(viewing_px * view_scale(img))), least)


def _u8(x: np.ndarray) -> Image:
    return np.clip(x, 0, 255).astype(np.uint8)


def _gray(img: Image) -> np.ndarray:
    """Luminance in [0, 1], float32."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255


def _rgb(gray: np.ndarray) -> Image:
    """A [0, 1] grey image as RGB uint8."""
    return cv2.cvtColor(_u8(gray * 255), cv2.COLOR_GRAY2RGB)


def _grade(img: Image, matrix: np.ndarray, offset: Sequence[float] = (0, 0, 0)) -> Image:
    out = img.astype(np.float32) @ np.asarray(matrix, np.float32).T + np.asarray(offset, np.float32)
    return _u8(out)


def _colour(rng: np.random.Generator, base: Sequence[float], spread: float = 18) -> np.ndarray:
    """A palette colour near `base`: each instance's ink, paper or tint varies a little around the look's own."""
    return np.clip(np.asarray(base, np.float32) + rng.uniform(-spread, spread, 3), 0, 255).astype(np.float32)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


def _ramp(lum: np.ndarray, stops: np.ndarray) -> Image:
    """Luminance in [0, 1] through a piecewise-linear colour ramp (duotone, tritone), as a 256-entry table."""
    xs, levels = np.linspace(0, 1, len(stops)), np.linspace(0, 1, 256)
    table = _u8(np.stack([np.interp(levels, xs, stops[:, c]) for c in range(3)], -1))
    return table[np.clip(lum * 255 + 0.5, 0, 255).astype(np.uint8)]


def _s_curve(x: np.ndarray, gain: float, mid: float = 0.5) -> np.ndarray:
    """A sigmoid tone curve through (0, 0) and (1, 1): `gain` sets its contrast at `mid`."""
    lo, hi = 1 / (1 + np.exp(gain * mid)), 1 / (1 + np.exp(-gain * (1 - mid)))
    return (1 / (1 + np.exp(-gain * (x - mid))) - lo) / (hi - lo)


@lru_cache(maxsize=64)
def _noise(h: int, w: int, sigma: float, seed: int) -> np.ndarray:
    """A fixed field of smooth noise in [0, 1] (features `sigma` pixels across): the same for every frame."""
    raw = np.random.default_rng(seed).normal(0, 1, (h, w)).astype(np.float32)
    field = cv2.GaussianBlur(raw, (0, 0), sigma) if sigma > 0.3 else raw
    field = (field - field.min()) / (float(np.ptp(field)) + 1e-6)
    field.setflags(write=False)
    return field


def _vignette(h: int, w: int, amount: float) -> np.ndarray:
    yy, xx = np.ogrid[0:h, 0:w]
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    return (1 - amount * r2 / 2).astype(np.float32)


def _edges(img: Image, width_px: float, lo: int = 40, hi: int = 110) -> np.ndarray:
    """Canny edges of the blurred luminance, `width_px` viewing pixels wide, as a bool mask."""
    edges = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (5, 5), 0), lo, hi)
    width = _px(img, width_px)
    return cv2.dilate(edges, np.ones((width, width), np.uint8)) > 0


def _relief(height: np.ndarray, angle: float) -> np.ndarray:
    """Shading in [-1, 1] of a height field lit from `angle` (radians)."""
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    shade = np.cos(angle) * gx + np.sin(angle) * gy
    return shade / (float(np.abs(shade).max()) + 1e-6)


def _reduced(img: Image, factor: int, op: Callable[[Image], np.ndarray],
             interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """`op` run on a copy `factor` times smaller, its result scaled back: slow filters at about the viewing scale."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(w // factor, 1), max(h // factor, 1)), interpolation=cv2.INTER_AREA)
    return cv2.resize(op(small), (w, h), interpolation=interpolation)


def _borders(labels: np.ndarray, width: int) -> np.ndarray:
    """Where a label map changes value, `width` pixels wide, as a bool mask."""
    edge = (np.diff(labels, axis=0, prepend=labels[:1]) != 0) | (np.diff(labels, axis=1, prepend=labels[:, :1]) != 0)
    return cv2.dilate(edge.astype(np.uint8), np.ones((width, width), np.uint8)) > 0


def _pil(img: Image):  # noqa: ANN202 -- PIL is imported lazily
    from PIL import Image as PILImage

    return PILImage.fromarray(np.ascontiguousarray(img))


@lru_cache(maxsize=32)
def _screen(h: int, w: int, cell: float, angle: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A halftone screen of pitch `cell` rotated by `angle`: each pixel's distance to its cell centre (in cells),
    and that centre's coordinates (x, y) in the image, to sample the tone from."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c, s = np.cos(angle), np.sin(angle)
    u, v = (c * xx + s * yy) / cell, (-s * xx + c * yy) / cell
    cu, cv = np.floor(u) + 0.5, np.floor(v) + 0.5
    dist = np.hypot(u - cu, v - cv)
    cx, cy = (c * cu - s * cv) * cell, (s * cu + c * cv) * cell
    out = (dist.astype(np.float32), cx.astype(np.float32), cy.astype(np.float32))
    for a in out:
        a.setflags(write=False)
    return out


def _at(channel: np.ndarray, cx: np.ndarray, cy: np.ndarray, cell: float) -> np.ndarray:
    """`channel` averaged over a cell and read at each pixel's cell centre."""
    k = max(int(cell) | 1, 1)
    return cv2.remap(cv2.blur(channel, (k, k)), cx, cy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


# ---------------------------------------------------------------- colour grades and tone curves
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)


@_look("grade", "numpy")
def sepia(rng: np.random.Generator) -> Instance:
    """Warm brown monochrome: the classic sepia matrix, with its strength and warmth drawn per instance."""
    strength, warmth = rng.uniform(0.8, 1.0), rng.uniform(-12, 12)
    matrix = strength * SEPIA + (1 - strength) * np.eye(3, dtype=np.float32)
    return lambda img: _grade(img, matrix, (warmth, 0, -warmth))


@_look("grade", "numpy")
def teal_orange(rng: np.random.Generator) -> Instance:
    """Blockbuster grade: contrast, teal shadows, orange highlights."""
    contrast, amount = rng.uniform(1.15, 1.35), rng.uniform(0.8, 1.25)
    teal, orange = amount * np.array([-0.08, 0.06, 0.12]), amount * np.array([0.14, 0.03, -0.12])

    def apply(img: Image) -> Image:
        f = 0.5 + (img.astype(np.float32) / 255 - 0.5) * contrast
        lum = f.mean(-1, keepdims=True)
        return _u8((f + (1 - lum) * teal + lum * orange) * 255)

    return apply


_DUOTONE = ((16, 28, 110), (40, 150, 170), (200, 255, 120))


@_look("grade", "numpy")
def duotone(rng: np.random.Generator) -> Instance:
    """Luminance through a navy-teal-lime ramp, tones mapped linearly (pairs with `duotone_contrast`)."""
    stops = np.stack([_colour(rng, c, 20) for c in _DUOTONE])
    return lambda img: _ramp(_gray(img), stops)


@_look("grade", "numpy")
def duotone_contrast(rng: np.random.Generator) -> Instance:
    """The same ramp as `duotone` with the tones through a hard S-curve: same palette, other tone mapping."""
    stops = np.stack([_colour(rng, c, 20) for c in _DUOTONE])
    gain = rng.uniform(9, 13)
    return lambda img: _ramp(_s_curve(_gray(img), gain), stops)


@_look("grade", "opencv")
def thermal(rng: np.random.Generator) -> Instance:
    """False-colour 'thermal camera': blurred luminance through the inferno colour map."""
    gamma, blur = rng.uniform(0.8, 1.25), rng.uniform(0.8, 1.6)

    def apply(img: Image) -> Image:
        lum = cv2.GaussianBlur(_gray(img), (0, 0), blur * view_scale(img)) ** gamma
        return cv2.cvtColor(cv2.applyColorMap(_u8(lum * 255), cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)

    return apply


@_look("grade", "scikit-image")
def high_key(rng: np.random.Generator) -> Instance:
    """Bright, airy tones: a low gamma and lifted blacks, colours untouched (pairs with `low_key`)."""
    from skimage.exposure import adjust_gamma

    gamma, lift = rng.uniform(0.4, 0.55), rng.uniform(20, 45)
    return lambda img: _u8(lift + (255 - lift) / 255 * adjust_gamma(img, gamma).astype(np.float32))


@_look("grade", "scikit-image")
def low_key(rng: np.random.Generator) -> Instance:
    """Dark, moody tones: a high gamma and crushed shadows, colours untouched (pairs with `high_key`)."""
    from skimage.exposure import adjust_gamma

    gamma, gain = rng.uniform(1.9, 2.6), rng.uniform(1.0, 1.15)
    return lambda img: _u8(gain * adjust_gamma(img, gamma).astype(np.float32))


@_look("grade", "opencv")
def split_tone(rng: np.random.Generator) -> Instance:
    """Shadows pushed to magenta-blue, highlights to yellow, in CIELAB's colour axes."""
    shadow = np.array([rng.uniform(12, 22), rng.uniform(-28, -16)], np.float32)
    light = np.array([rng.uniform(-6, 2), rng.uniform(18, 30)], np.float32)

    def apply(img: Image) -> Image:
        lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
        t = (lab[..., :1] / 255) ** 0.8
        lab[..., 1:] = 0.6 * (lab[..., 1:] - 128) + 128 + (1 - t) * shadow + t * light
        return cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB)

    return apply


# ---------------------------------------------------------------- film and print processes
@_look("film", "numpy")
def vintage(rng: np.random.Generator) -> Instance:
    """Faded print: lifted blacks, compressed whites, green-yellow cast, low saturation, a warm light leak."""
    fade, lift = rng.uniform(0.6, 0.78), rng.uniform(35, 60)
    leak_x, leak = rng.uniform(0.6, 1.0), _colour(rng, (60, 25, 0), 12)

    def apply(img: Image) -> Image:
        f = img.astype(np.float32)
        f = lift + fade * (0.55 * f + 0.45 * f.mean(-1, keepdims=True))
        f = f * np.array([1.05, 1.02, 0.82], np.float32) + np.array([0, 8, 0], np.float32)
        w = img.shape[1]
        glow = np.exp(-(((np.arange(w) - leak_x * w) / (0.35 * w)) ** 2)).astype(np.float32)
        return _u8(f + glow[None, :, None] * leak)

    return apply


@_look("film", "numpy")
def grain(rng: np.random.Generator) -> Instance:
    """Warm stock with coarse grain (a fixed grain field per instance) and a vignette."""
    amount, size, vig, seed = rng.uniform(20, 34), rng.uniform(0.8, 1.4), rng.uniform(0.45, 0.7), _seed(rng)
    warm = np.array([[1.05, 0.05, 0], [0.02, 0.95, 0], [0, 0, 0.8]], np.float32)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        k = view_scale(img) * size
        small = _noise(max(int(h / k), 1), max(int(w / k), 1), 0.0, seed)
        field = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) - 0.5
        f = _grade(img, warm, (10, 0, -10)).astype(np.float32) + amount * 3.5 * field[..., None]
        return _u8(f * _vignette(h, w, vig)[..., None])

    return apply


@_look("film", "numpy")
def cross_process(rng: np.random.Generator) -> Instance:
    """Slide film in negative chemistry: hard red and green curves, flattened blue with lifted shadows."""
    gain_r, gain_g, blue_lift, blue_gain = rng.uniform(7, 10), rng.uniform(6, 9), rng.uniform(50, 80), rng.uniform(
        0.45, 0.6)

    def apply(img: Image) -> Image:
        f = img.astype(np.float32) / 255
        r, g = _s_curve(f[..., 0], gain_r, 0.45), _s_curve(f[..., 1], gain_g, 0.5)
        b = blue_lift / 255 + blue_gain * f[..., 2]
        return _u8(np.stack([r, g, b], -1) * 255)

    return apply


@_look("film", "opencv")
def bleach_bypass(rng: np.random.Generator) -> Instance:
    """Silver retained: the picture overlaid with its own high-contrast greyscale, desaturated and harsh."""
    mix, gain = rng.uniform(0.55, 0.8), rng.uniform(8, 12)

    def apply(img: Image) -> Image:
        lum = _s_curve(_gray(img), gain)
        silver = cv2.cvtColor(_u8(lum * 255), cv2.COLOR_GRAY2RGB)
        return cv2.addWeighted(silver, mix, img, 1 - mix, 0)

    return apply


@_look("film", "pillow")
def cyanotype(rng: np.random.Generator) -> Instance:
    """Sun print: Prussian blue to pale paper, low contrast (PIL's colorize on the equalised luminance)."""
    from PIL import ImageOps

    dark, light = _colour(rng, (18, 45, 110), 14), _colour(rng, (215, 230, 235), 10)
    mid = rng.uniform(0.45, 0.6)

    def apply(img: Image) -> Image:
        gray = ImageOps.autocontrast(_pil(img).convert("L"), cutoff=2)
        mid_colour = tuple(int(v) for v in (1 - mid) * dark + mid * light)
        out = ImageOps.colorize(gray, tuple(int(v) for v in dark), tuple(int(v) for v in light), mid=mid_colour)
        return np.asarray(out)

    return apply


@_look("film", "scikit-image")
def tintype(rng: np.random.Generator) -> Instance:
    """Wet-plate photograph: silvery brown-grey tones through a sigmoid, a deep vignette, a fixed mottled plate."""
    from skimage.exposure import adjust_sigmoid

    gain, vig, seed = rng.uniform(5, 8), rng.uniform(0.8, 1.1), _seed(rng)
    tint = np.array([1.0, 0.92, 0.78], np.float32) + rng.uniform(-0.04, 0.04, 3).astype(np.float32)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        lum = adjust_sigmoid(_gray(img), cutoff=0.5, gain=gain)
        plate = 0.85 + 0.15 * _noise(h, w, 6 * view_scale(img), seed)
        f = (lum * plate * _vignette(h, w, vig))[..., None] * tint * 235 + 12
        return _u8(f)

    return apply


@_look("film", "opencv")
def lomo(rng: np.random.Generator) -> Instance:
    """Toy camera: saturated, contrasty centre, dark soft corners."""
    sat, vig, contrast = rng.uniform(1.4, 1.8), rng.uniform(1.0, 1.4), rng.uniform(1.2, 1.45)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 1] *= sat
        f = cv2.cvtColor(_u8(hsv), cv2.COLOR_HSV2RGB).astype(np.float32)
        f = 128 + (f - 128) * contrast
        mask = np.clip(_vignette(h, w, vig), 0, 1)[..., None]
        soft = cv2.GaussianBlur(f, (0, 0), 2 * view_scale(img))
        return _u8((mask * f + (1 - mask) * soft) * mask)

    return apply


@_look("film", "numpy")
def infrared(rng: np.random.Generator) -> Instance:
    """Colour infrared (Aerochrome): green foliage turns red, skies go dark blue."""
    red, blue = rng.uniform(0.85, 1.1), rng.uniform(0.8, 1.0)
    matrix = np.array([[0.2, red, 0.0], [0.75, 0.1, 0.1], [0.0, 0.15, blue]], np.float32)
    return lambda img: _grade(img, matrix, (10, 0, 0))


# ---------------------------------------------------------------- halftone, dithering and posterisation
_DOT = 0.56
"""Dot radius (in cells) at full ink: a dot of radius 0.56 * sqrt(d) covers about a fraction d of its cell."""

@_look("halftone", "numpy")
def halftone(rng: np.random.Generator) -> Instance:
    """One-ink newspaper halftone: dots on a rotated screen, each dot's size set by its cell's darkness."""
    pitch, angle = rng.uniform(3.0, 4.2), np.deg2rad(rng.uniform(0, 45))
    ink, paper = _colour(rng, (20, 30, 90), 20), _colour(rng, (250, 248, 240), 6)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        cell = max(pitch * view_scale(img), 3.0)
        dist, cx, cy = _screen(h, w, cell, angle)
        dark = 1 - _at(_gray(img), cx, cy, cell)
        dot = (dist < _DOT * np.sqrt(dark))[..., None]
        return _u8(np.where(dot, ink, paper))

    return apply


@_look("halftone", "numpy")
def cmyk_halftone(rng: np.random.Generator) -> Instance:
    """Four-colour process print: cyan, magenta, yellow and black dot screens at their classic angles."""
    pitch, turn = rng.uniform(2.8, 3.8), rng.uniform(-10, 10)
    angles = np.deg2rad(np.array([15, 75, 0, 45]) + turn)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        cell = max(pitch * view_scale(img), 3.0)
        f = img.astype(np.float32) / 255
        k = 1 - f.max(-1)
        cmy = (1 - f - k[..., None]) / (1 - k[..., None] + 1e-6)
        out = np.ones((h, w, 3), np.float32)
        for i, plate in enumerate([cmy[..., 0], cmy[..., 1], cmy[..., 2], k]):
            dist, cx, cy = _screen(h, w, cell, float(angles[i]))
            dot = dist < _DOT * np.sqrt(np.clip(_at(plate.astype(np.float32), cx, cy, cell), 0, 1))
            if i < 3:
                out[..., i] *= np.where(dot, 0.1, 1.0)
            else:
                out *= np.where(dot, 0.1, 1.0)[..., None]
        return _u8(out * 255)

    return apply


_BAYER = np.array([[0, 32, 8, 40, 2, 34, 10, 42], [48, 16, 56, 24, 50, 18, 58, 26], [12, 44, 4, 36, 14, 46, 6, 38],
                   [60, 28, 52, 20, 62, 30, 54, 22], [3, 35, 11, 43, 1, 33, 9, 41], [51, 19, 59, 27, 49, 17, 57, 25],
                   [15, 47, 7, 39, 13, 45, 5, 37], [63, 31, 55, 23, 61, 29, 53, 21]], np.float32) / 64 + 1 / 128


def _bayer_screen(h: int, w: int, k: int, transposed: bool = False) -> np.ndarray:
    """The 8x8 Bayer matrix, each entry k x k pixels, tiled over (h, w): an ordered-dither threshold map."""
    tile = np.kron(_BAYER.T if transposed else _BAYER, np.ones((k, k), np.float32))
    return np.tile(tile, (h // tile.shape[0] + 1, w // tile.shape[1] + 1))[:h, :w]


def _threshold_dither(img: Image, thresholds: np.ndarray, levels: int) -> Image:
    """Each channel quantised to `levels` with a per-pixel threshold in [0, 1) (the dither screen)."""
    f = img.astype(np.float32) / 255 * (levels - 1)
    return _u8(np.floor(f + thresholds[..., None]) / (levels - 1) * 255)


@_look("halftone", "numpy")
def ordered_dither(rng: np.random.Generator) -> Instance:
    """Bayer 8x8 ordered dither to 2-3 levels a channel: the cross-hatched grid of early computer graphics."""
    levels, size = int(rng.integers(2, 4)), rng.uniform(0.8, 1.3)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        return _threshold_dither(img, _bayer_screen(h, w, _px(img, size)), levels)

    return apply


@_look("halftone", "numpy")
def stochastic_screen(rng: np.random.Generator) -> Instance:
    """One-ink print with a fixed random screen (frequency-modulated halftone): grain instead of a dot grid."""
    size, seed = rng.uniform(0.6, 0.9), _seed(rng)
    ink, paper = _colour(rng, (30, 20, 20), 20), _colour(rng, (245, 235, 215), 10)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        k = view_scale(img) * size
        small = _noise(max(int(h / k), 1), max(int(w / k), 1), 0.0, seed)
        ranks = np.argsort(np.argsort(small, axis=None)).reshape(small.shape) / small.size  # uniform thresholds
        screen = cv2.resize(ranks.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
        g = _gray(img)
        g = (g - g.min()) / (float(np.ptp(g)) + 1e-6)
        on = (g < screen)[..., None]
        return _u8(np.where(on, ink, paper))

    return apply


@_look("halftone", "numpy")
def poster(rng: np.random.Generator) -> Instance:
    """Posterised to a few levels a channel, with a cool cast."""
    levels = int(rng.integers(3, 6))
    cast = np.array([[0.7, 0, 0], [0, 0.9, 0], [0, 0, 1.1]], np.float32) + np.diag(rng.uniform(-0.08, 0.08, 3))
    offset = (0, rng.uniform(0, 20), rng.uniform(25, 55))

    def apply(img: Image) -> Image:
        step = 256 / levels
        return _grade((np.floor(img / step) * step + step / 2).astype(np.float32), cast, offset)

    return apply


@_look("halftone", "pillow")
def pop_art(rng: np.random.Generator) -> Instance:
    """Pillow's posterize to 2 bits a channel, then saturation and contrast pushed: loud flat poster colour."""
    from PIL import ImageEnhance, ImageOps

    colour, contrast, bits = rng.uniform(1.8, 2.6), rng.uniform(1.1, 1.4), 2

    def apply(img: Image) -> Image:
        out = ImageEnhance.Contrast(_pil(img)).enhance(contrast)
        out = ImageOps.posterize(ImageEnhance.Color(out).enhance(colour), bits)
        return np.asarray(out)

    return apply


@_look("halftone", "numpy")
def riso(rng: np.random.Generator) -> Instance:
    """Two-ink risograph: fluorescent pink and blue, each ordered-dithered, printed slightly out of register."""
    pink, blue = _colour(rng, (255, 72, 176), 18), _colour(rng, (0, 120, 191), 18)
    shift = rng.uniform(0.6, 1.6, 2) * rng.choice([-1, 1], 2)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        k = _px(img, 1.0)
        f = img.astype(np.float32) / 255
        a = (1 - f[..., :2].mean(-1)) > _bayer_screen(h, w, k)  # pink plate: where red and green are missing
        dx, dy = shift * view_scale(img)
        moved = cv2.warpAffine(f[..., 2], np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REFLECT)
        b = 0.9 * (1 - moved) > _bayer_screen(h, w, k, transposed=True)  # blue plate, out of register
        out = np.full((h, w, 3), 246, np.float32)
        out = np.where(a[..., None], out * pink / 255, out)
        out = np.where(b[..., None], out * blue / 255, out)
        return _u8(out)

    return apply


@_look("halftone", "numpy")
def line_screen(rng: np.random.Generator) -> Instance:
    """Line-screen halftone: parallel ink lines whose thickness follows the darkness."""
    pitch, angle = rng.uniform(3.0, 4.5), np.deg2rad(rng.uniform(-40, 40))
    ink, paper = _colour(rng, (25, 25, 35), 20), _colour(rng, (240, 236, 225), 10)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        cell = max(pitch * view_scale(img), 3.0)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        phase = np.abs(((-np.sin(angle) * xx + np.cos(angle) * yy) / cell) % 1 - 0.5) * 2
        dark = 1 - cv2.GaussianBlur(_gray(img), (0, 0), cell / 3)
        return _u8(np.where((phase < dark)[..., None], ink, paper))

    return apply


# ---------------------------------------------------------------- painterly filters
def _box_mean(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.blur(x, (r, r), borderType=cv2.BORDER_REFLECT)


def _kuwahara(img: Image, radius: int) -> np.ndarray:
    """Kuwahara filter: each pixel takes the mean of the least-varied of its four quadrants (flat paint dabs)."""
    f = img.astype(np.float32)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean, mean_g = _box_mean(f, radius), _box_mean(gray, radius)
    var = _box_mean(gray * gray, radius) - mean_g**2
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
    return out


@lru_cache(maxsize=16)
def _canvas(h: int, w: int, thread: float, seed: int) -> np.ndarray:
    """Shading in [0.8, 1.2] of a fixed canvas weave, threads `thread` pixels wide.

    (Threads one viewing pixel wide alias away when the video is scaled down and compressed, leaving an oil
    painting indistinguishable from flat cartoon shading.)"""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    weave = np.sin(xx * np.pi / thread) * np.sin(yy * np.pi / thread)
    weave += 0.5 * cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), thread / 2.5)
    shade = 1.0 + 0.2 * _relief(weave, np.pi * 1.25)
    shade.setflags(write=False)
    return shade


def _saturate(img: Image, factor: float) -> Image:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] *= factor
    return cv2.cvtColor(_u8(hsv), cv2.COLOR_HSV2RGB)


@_look("painterly", "opencv")
def oil(rng: np.random.Generator) -> Instance:
    """Oil paint: Kuwahara dabs, richer saturation, the relief of a fixed canvas weave."""
    radius, sat, thread, seed = rng.uniform(2.5, 3.5), rng.uniform(1.2, 1.5), rng.uniform(2.2, 3.0), _seed(rng)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        painted = _reduced(img, 2, lambda small: _saturate(_u8(_kuwahara(small, _px(small, radius, 3))), sat))
        painted = painted.astype(np.float32)
        return _u8(painted * _canvas(h, w, thread * view_scale(img), seed)[..., None])

    return apply


@lru_cache(maxsize=16)
def _paper(h: int, w: int, fibre: float, seed: int) -> np.ndarray:
    """A fixed paper texture in [0.8, 1]: fine fibres over slow blotches."""
    fine = _noise(h, w, fibre, seed)
    paper = 0.8 + 0.2 * (0.65 * fine + 0.35 * _noise(h, w, 6 * fibre, seed + 1))
    paper.setflags(write=False)
    return paper


@_look("painterly", "opencv")
def watercolour(rng: np.random.Generator) -> Instance:
    """Edge-preserving smoothing, washed-out pigment, darker pooled edges, on a fixed sheet of paper."""
    wash, pool, fibre, seed = rng.uniform(0.6, 0.8), rng.uniform(0.25, 0.45), rng.uniform(0.7, 1.0), _seed(rng)

    def apply(img: Image) -> Image:
        smooth = cv2.edgePreservingFilter(img, flags=cv2.RECURS_FILTER, sigma_s=60, sigma_r=0.5).astype(np.float32)
        washed = 255 - wash * (255 - smooth)
        edges = cv2.Canny(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 50, 120).astype(np.float32) / 255
        edges = cv2.GaussianBlur(edges, (0, 0), 0.6 * view_scale(img))[..., None]
        h, w = img.shape[:2]
        return _u8(washed * (1 - pool * edges) * _paper(h, w, fibre * view_scale(img), seed)[..., None])

    return apply


@_look("painterly", "opencv")
def cartoon(rng: np.random.Generator) -> Instance:
    """Cel shading: flattened colour (bilateral smoothing, quantised) with bold ink outlines."""
    levels, width = int(rng.integers(5, 9)), rng.uniform(0.6, 1.0)

    def apply(img: Image) -> Image:
        flat = img
        for _ in range(3):
            flat = cv2.bilateralFilter(flat, 7, 40, 7)
        step = 256 / levels
        flat = _u8(np.floor(flat / step) * step + step / 2)
        gray = cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 7)
        ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 9, 4)
        ink = cv2.dilate(ink, np.ones((_px(img, width),) * 2, np.uint8))
        flat[ink > 0] = (15, 15, 15)
        return flat

    return apply


@_look("painterly", "opencv")
def flat_colour(rng: np.random.Generator) -> Instance:
    """Flat-colour rendering: regions of one colour (mean shift over a smoothed, reduced copy), no outlines."""
    spatial, colour = rng.uniform(1.2, 2.0), rng.uniform(25, 40)

    def apply(img: Image) -> Image:
        return _reduced(img, 2, lambda small: cv2.pyrMeanShiftFiltering(small, spatial * view_scale(img), colour),
                        cv2.INTER_NEAREST)

    return apply


@_look("painterly", "opencv")
def detail_enhance(rng: np.random.Generator) -> Instance:
    """Exaggerated local detail (OpenCV's detailEnhance): the palette kept, every surface crisp and gritty."""
    sigma_s, sigma_r = rng.uniform(8, 14), rng.uniform(0.12, 0.2)
    return lambda img: cv2.detailEnhance(img, sigma_s=sigma_s, sigma_r=sigma_r)


@lru_cache(maxsize=16)
def _dots(h: int, w: int, cell: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fixed jittered grid of dots: each pixel's nearest dot centre (x, y) and its distance to it, in cells."""
    rng = np.random.default_rng(seed)
    gh, gw = int(h / cell) + 3, int(w / cell) + 3
    centres = (np.stack(np.mgrid[0:gh, 0:gw], -1)[..., ::-1] - 1 + 0.5 + rng.uniform(-0.35, 0.35, (gh, gw, 2)))
    centres = (centres * cell).astype(np.float32)  # (gh, gw, 2) as (x, y)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gy, gx = (yy / cell).astype(int) + 1, (xx / cell).astype(int) + 1
    best = np.full((h, w), np.inf, np.float32)
    bx, by = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            c = centres[np.clip(gy + dy, 0, gh - 1), np.clip(gx + dx, 0, gw - 1)]
            d = np.hypot(c[..., 0] - xx, c[..., 1] - yy)
            closer = d < best
            best[closer], bx[closer], by[closer] = d[closer], c[..., 0][closer], c[..., 1][closer]
    out = (bx, by, best / cell)
    for a in out:
        a.setflags(write=False)
    return out


@_look("painterly", "numpy")
def pointillism(rng: np.random.Generator) -> Instance:
    """Pointillist dabs: a fixed jittered field of round dots, each one colour read from the picture, on canvas."""
    cell, size, sat, seed = rng.uniform(2.2, 3.2), rng.uniform(0.5, 0.65), rng.uniform(1.2, 1.6), _seed(rng)
    ground = _colour(rng, (235, 228, 210), 10)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        cx, cy, dist = _dots(h, w, cell * view_scale(img), seed)
        colours = cv2.remap(_saturate(img, sat), cx, cy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return _u8(np.where((dist < size)[..., None], colours.astype(np.float32), ground))

    return apply


@_look("painterly", "scikit-image")
def gouache(rng: np.random.Generator) -> Instance:
    """Opaque matte paint: total-variation smoothing (flat areas, crisp borders) and chalky, lifted colour."""
    from skimage.restoration import denoise_tv_chambolle

    weight, lift = rng.uniform(0.25, 0.4), rng.uniform(15, 30)

    def flatten(small: Image) -> np.ndarray:
        return denoise_tv_chambolle(small.astype(np.float32) / 255, weight=weight, channel_axis=-1).astype(np.float32)

    return lambda img: _u8(lift + (255 - lift) * _reduced(img, 3, flatten))


@_look("painterly", "pillow")
def palette_knife(rng: np.random.Generator) -> Instance:
    """Blotchy knife-laid paint: Pillow's mode filter (each pixel the commonest value near it) at a third size."""
    from PIL import ImageEnhance, ImageFilter

    size = int(rng.choice([5, 7]))
    sharpen = rng.uniform(1.5, 2.5)

    def blotch(small: Image) -> np.ndarray:
        return np.asarray(ImageEnhance.Sharpness(_pil(small).filter(ImageFilter.ModeFilter(size))).enhance(sharpen))

    return lambda img: _reduced(img, 3, blotch, cv2.INTER_NEAREST)


# ---------------------------------------------------------------- drawing media
@_look("drawing", "opencv")
def pencil(rng: np.random.Generator) -> Instance:
    """Graphite: OpenCV's pencil sketch (shading strokes) with outlines, so flat drawings keep their contours."""
    shade, width, tone = rng.uniform(0.03, 0.07), rng.uniform(0.5, 0.9), rng.uniform(60, 100)

    def apply(img: Image) -> Image:
        gray = _reduced(img, 2, lambda small: cv2.pencilSketch(small, sigma_s=20, sigma_r=0.08, shade_factor=shade)[0])
        gray = np.where(_edges(img, width, 30, 90), np.minimum(gray, tone), gray).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)

    return apply


@_look("drawing", "opencv")
def colour_pencil(rng: np.random.Generator) -> Instance:
    """Coloured pencil: OpenCV's colour pencil sketch, strokes over white paper."""
    shade, sigma_r = rng.uniform(0.02, 0.05), rng.uniform(0.06, 0.1)

    def sketch(small: Image) -> np.ndarray:
        return cv2.pencilSketch(small, sigma_s=20, sigma_r=sigma_r, shade_factor=shade)[1]

    return lambda img: _reduced(img, 2, sketch)


@_look("drawing", "numpy")
def ink(rng: np.random.Generator) -> Instance:
    """Pen and ink: extended difference-of-Gaussians lines (XDoG), black ink on cream paper."""
    sigma, sharp, phi = rng.uniform(0.5, 0.8), rng.uniform(18, 26), rng.uniform(30, 60)
    ink_c, paper = _colour(rng, (20, 18, 25), 12), _colour(rng, (245, 238, 220), 8)

    def apply(img: Image) -> Image:
        g = _gray(img)
        s = sigma * view_scale(img)
        a, b = cv2.GaussianBlur(g, (0, 0), s), cv2.GaussianBlur(g, (0, 0), 1.6 * s)
        d = (1 + sharp) * a - sharp * b
        line = np.where(d >= 0.7, 1.0, 1 + np.tanh(phi * (d - 0.7)))
        t = np.clip(line, 0, 1)[..., None]
        return _u8(t * paper + (1 - t) * ink_c)

    return apply


@_look("drawing", "numpy")
def hatching(rng: np.random.Generator) -> Instance:
    """Cross-hatching: parallel pen strokes in the mid-tones, crossed strokes in the shadows, outlines."""
    pitch, angle = rng.uniform(2.2, 3.2), np.deg2rad(rng.uniform(20, 70))
    ink_c, paper = _colour(rng, (30, 30, 45), 15), _colour(rng, (248, 245, 235), 6)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        cell = max(pitch * view_scale(img), 2.5)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        strokes = np.zeros((h, w), bool)
        lum = cv2.GaussianBlur(_gray(img), (0, 0), cell / 2)
        for i, level in enumerate((0.75, 0.5, 0.28)):
            a = angle + i * np.pi / 2.6
            phase = ((np.cos(a) * xx + np.sin(a) * yy) / cell) % 1
            strokes |= (phase < 0.28) & (lum < level)
        strokes |= _edges(img, 0.6)
        return _u8(np.where(strokes[..., None], ink_c, paper))

    return apply


@_look("drawing", "scikit-image")
def charcoal(rng: np.random.Generator) -> Instance:
    """Charcoal on grey paper: smudged dark tones and heavy Sobel edges, rubbed into a fixed paper tooth."""
    from skimage.filters import sobel

    smudge, weight, seed = rng.uniform(1.0, 1.8), rng.uniform(3.0, 5.0), _seed(rng)
    paper = rng.uniform(205, 230)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        g = cv2.GaussianBlur(_gray(img), (0, 0), smudge * view_scale(img))
        dark = np.clip(_s_curve(1 - g, 6) + weight * sobel(g), 0, 1)
        tooth = _noise(h, w, 0.6 * view_scale(img), seed)
        lum = paper * (1 - 0.92 * dark * (0.55 + 0.45 * tooth))
        return _rgb(lum / 255)

    return apply


@_look("drawing", "opencv")
def chalk(rng: np.random.Generator) -> Instance:
    """Chalk on a blackboard: pale strokes for light areas and edges over a dark green board, broken by its grain."""
    board, seed, strength = _colour(rng, (34, 52, 44), 10), _seed(rng), rng.uniform(0.7, 0.95)
    chalk_c = _colour(rng, (235, 235, 225), 10)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        g = _gray(img)
        lines = cv2.GaussianBlur(_edges(img, 0.7).astype(np.float32), (0, 0), 0.5 * view_scale(img))
        grain_ = _noise(h, w, 0.5 * view_scale(img), seed)
        amount = np.clip(strength * (0.7 * g**1.5 + lines) * (0.45 + 0.8 * grain_), 0, 1)[..., None]
        return _u8(board + amount * (chalk_c - board))

    return apply


@_look("drawing", "pillow")
def sanguine(rng: np.random.Generator) -> Instance:
    """Red chalk (sanguine) study: Pillow's contour lines and soft shading in iron-oxide red on cream paper."""
    from PIL import ImageFilter, ImageOps

    red, paper, shade = _colour(rng, (150, 50, 30), 16), _colour(rng, (240, 225, 200), 8), rng.uniform(0.35, 0.6)

    def apply(img: Image) -> Image:
        gray = _pil(img).convert("L")
        lines = np.asarray(gray.filter(ImageFilter.SMOOTH_MORE).filter(ImageFilter.CONTOUR), np.float32) / 255
        tone = np.asarray(ImageOps.autocontrast(gray), np.float32) / 255
        dark = np.clip((1 - lines) * 1.6 + shade * (1 - tone), 0, 1)[..., None]
        return _u8(paper + dark * (red - paper))

    return apply


# ---------------------------------------------------------------- texture overlays
@_look("texture", "numpy")
def paper(rng: np.random.Generator) -> Instance:
    """Printed on rough paper: the picture multiplied by a fixed fibre texture, colours slightly dulled."""
    fibre, depth, seed = rng.uniform(0.7, 1.2), rng.uniform(1.2, 1.8), _seed(rng)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        sheet = 1 - depth * (1 - _paper(h, w, fibre * view_scale(img), seed))
        f = img.astype(np.float32)
        f = 0.85 * f + 0.15 * f.mean(-1, keepdims=True)
        return _u8(f * sheet[..., None])

    return apply


@_look("texture", "numpy")
def canvas(rng: np.random.Generator) -> Instance:
    """Printed on canvas: the picture, colours kept, under the relief of a fixed weave."""
    thread, depth, seed = rng.uniform(2.2, 3.2), rng.uniform(1.0, 1.6), _seed(rng)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        shade = 1 + depth * (_canvas(h, w, thread * view_scale(img), seed) - 1)
        return _u8(img.astype(np.float32) * shade[..., None])

    return apply


@_look("texture", "opencv")
def crumpled(rng: np.random.Generator) -> Instance:
    """A crumpled print: the relief of fixed large folds and creases lit from one side."""
    folds, depth, seed, angle = rng.uniform(8, 14), rng.uniform(0.25, 0.4), _seed(rng), rng.uniform(0, 2 * np.pi)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        k = view_scale(img)
        height = _noise(h, w, folds * k, seed) + 0.3 * np.abs(_noise(h, w, folds * k / 3, seed + 1) - 0.5)
        return _u8(img.astype(np.float32) * (1 + depth * _relief(height, angle))[..., None])

    return apply


@_look("texture", "scikit-image")
def speckle(rng: np.random.Generator) -> Instance:
    """Speckle noise (scikit-image's random_noise, seeded per instance) in clumps a viewing pixel wide."""
    from skimage.util import random_noise

    var, seed = rng.uniform(0.08, 0.16), _seed(rng)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        k = view_scale(img)
        sh, sw = max(int(h / k), 1), max(int(w / k), 1)
        field = random_noise(np.full((sh, sw), 0.5), mode="speckle", var=var, rng=seed, clip=False) - 0.5
        field = cv2.resize(field.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        return _u8(img.astype(np.float32) * (1 + 2 * field[..., None]))

    return apply


@_look("texture", "scikit-image")
def stucco(rng: np.random.Generator) -> Instance:
    """Projected on a rough plaster wall: a fixed multi-scale height field (scikit-image Gaussians), lit."""
    from skimage.filters import gaussian

    size, depth, seed, angle = rng.uniform(1.0, 1.8), rng.uniform(0.3, 0.45), _seed(rng), rng.uniform(0, 2 * np.pi)

    @lru_cache(maxsize=8)
    def wall(h: int, w: int, k: float) -> np.ndarray:
        raw = np.random.default_rng(seed).normal(0, 1, (h, w)).astype(np.float32)
        height = (gaussian(raw, sigma=k) + 1.5 * gaussian(raw, sigma=3 * k)).astype(np.float32)
        return (1 + depth * _relief(height, angle))[..., None]

    return lambda img: _u8(img.astype(np.float32) * wall(*img.shape[:2], view_scale(img) * size))


@_look("texture", "opencv")
def frosted_glass(rng: np.random.Generator) -> Instance:
    """Seen through frosted glass: every pixel displaced by a fixed field of small random offsets."""
    amount, size, seed = rng.uniform(1.5, 2.5), rng.uniform(0.5, 1.0), _seed(rng)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        k = view_scale(img)
        dx = (_noise(h, w, size * k, seed) - 0.5) * 4 * amount * k
        dy = (_noise(h, w, size * k, seed + 1) - 0.5) * 4 * amount * k
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        return cv2.remap(img, xx + dx, yy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    return apply


@_look("texture", "numpy")
def burlap(rng: np.random.Generator) -> Instance:
    """Printed on coarse burlap: thick irregular threads, gaps between them, a jute tint."""
    thread, seed = rng.uniform(3.5, 5.0), _seed(rng)
    jute = _colour(rng, (200, 170, 120), 12) / 255

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        t = thread * view_scale(img)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        wobble = 2 * t * (_noise(h, w, 3 * t, seed) - 0.5)
        warp = np.abs(np.sin((xx + wobble) * np.pi / t))
        weft = np.abs(np.sin((yy - wobble) * np.pi / t))
        cloth = 0.55 + 0.45 * np.maximum(warp, weft) ** 0.6
        f = img.astype(np.float32) * (0.6 + 0.4 * jute)
        return _u8(f * cloth[..., None])

    return apply


# ---------------------------------------------------------------- digital renderings
_PIXEL_PALETTE = np.array([[20, 12, 28], [68, 36, 52], [48, 52, 109], [78, 74, 78], [133, 76, 48], [52, 101, 36],
                           [208, 70, 72], [117, 113, 97], [89, 125, 206], [210, 125, 44], [133, 149, 161],
                           [109, 170, 44], [210, 170, 153], [109, 194, 202], [218, 212, 94], [222, 238, 214]],
                          np.float32)
"""DawnBringer's 16-colour palette (a classic pixel-art palette)."""


@_look("digital", "numpy")
def pixel(rng: np.random.Generator) -> Instance:
    """Pixel art: a few viewing pixels a block, snapped to a 16-colour palette, hard nearest-neighbour edges."""
    block = rng.uniform(3.2, 4.8)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        b = _px(img, block, 2)
        small = cv2.resize(img, (max(w // b, 1), max(h // b, 1)), interpolation=cv2.INTER_AREA).astype(np.float32)
        d = ((small[:, :, None, :] - _PIXEL_PALETTE[None, None]) ** 2).sum(-1)
        return cv2.resize(_PIXEL_PALETTE[d.argmin(-1)].astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)

    return apply


@_look("digital", "numpy")
def glitch(rng: np.random.Generator) -> Instance:
    """Datamosh glitch: red and blue split apart, fixed bands of rows torn sideways."""
    split = rng.uniform(1.5, 3.0) * rng.choice([-1, 1])
    n_bands = int(rng.integers(4, 8))
    bands = [(rng.uniform(0, 1), rng.uniform(0.02, 0.08), rng.uniform(-8, 8)) for _ in range(n_bands)]

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        k = view_scale(img)
        out = img.copy()
        s = int(round(split * k))
        out[..., 0], out[..., 2] = np.roll(img[..., 0], s, 1), np.roll(img[..., 2], -s, 1)
        for top, height, shift in bands:
            y0, y1 = int(top * h), int(min(top + height, 1) * h)
            out[y0:y1] = np.roll(out[y0:y1], int(round(shift * k)), 1)
        return out

    return apply


def _mean_per_label(img: Image, labels: np.ndarray) -> Image:
    """Every pixel replaced by the mean colour of its label."""
    n = int(labels.max()) + 1
    flat = labels.ravel()
    counts = np.maximum(np.bincount(flat, minlength=n), 1)
    means = np.stack([np.bincount(flat, img[..., c].ravel(), n) / counts for c in range(3)], -1)
    return _u8(means[labels])


@lru_cache(maxsize=16)
def _cells(h: int, w: int, cell: float, seed: int) -> np.ndarray:
    """A fixed Voronoi tiling of jittered grid points: each pixel's tile index."""
    cx, cy, _ = _dots(h, w, cell, seed)
    ix, iy = np.floor(cx / cell + 1).astype(np.int64), np.floor(cy / cell + 1).astype(np.int64)
    labels = np.unique(iy * (int(w / cell) + 4) + ix, return_inverse=True)[1].reshape(h, w)
    labels.setflags(write=False)
    return labels


@_look("digital", "numpy")
def stained_glass(rng: np.random.Generator) -> Instance:
    """Stained glass: fixed Voronoi tiles of flat colour with dark lead lines between them."""
    cell, sat, seed = rng.uniform(7, 11), rng.uniform(1.2, 1.5), _seed(rng)
    lead = _colour(rng, (25, 22, 20), 10)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        labels = _cells(h, w, cell * view_scale(img), seed)
        out = _mean_per_label(_saturate(img, sat), labels)
        out[_borders(labels, _px(img, 0.6))] = lead.astype(np.uint8)
        return out

    return apply


@_look("digital", "scikit-image")
def superpixel(rng: np.random.Generator) -> Instance:
    """Mosaic of SLIC superpixels (scikit-image), each filled with its mean colour: tiles that follow the picture."""
    from skimage.segmentation import slic

    n_segments, compactness = int(rng.integers(120, 260)), rng.uniform(8, 20)

    def segment(small: Image) -> np.ndarray:
        return slic(small, n_segments=n_segments, compactness=compactness, start_label=0).astype(np.int32)

    def apply(img: Image) -> Image:
        return _mean_per_label(img, _reduced(img, 3, segment, cv2.INTER_NEAREST))

    return apply


@lru_cache(maxsize=16)
def _triangles(h: int, w: int, cell: float, seed: int) -> np.ndarray:
    """A fixed Delaunay triangulation of jittered points (scipy), rasterised: each pixel's triangle index."""
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(seed)
    gy, gx = np.mgrid[0 : h + cell : cell, 0 : w + cell : cell]
    pts = np.stack([gx.ravel(), gy.ravel()], 1) + rng.uniform(-0.4, 0.4, (gx.size, 2)) * cell
    pts = np.vstack([pts, [[0, 0], [w, 0], [0, h], [w, h]]])
    labels = np.zeros((h, w), np.int32)
    for i, tri in enumerate(Delaunay(pts).simplices):
        cv2.fillConvexPoly(labels, np.round(pts[tri]).astype(np.int32), i)
    labels.setflags(write=False)
    return labels


@_look("digital", "scipy")
def low_poly(rng: np.random.Generator) -> Instance:
    """Low-poly rendering: a fixed triangulation (scipy's Delaunay), each triangle one flat colour."""
    cell, seed = rng.uniform(8, 13), _seed(rng)
    return lambda img: _mean_per_label(img, _triangles(*img.shape[:2], cell * view_scale(img), seed))


@_look("digital", "numpy")
def crt(rng: np.random.Generator) -> Instance:
    """An old CRT screen: dark scanlines, an RGB aperture grille, a soft bloom."""
    pitch, dark, bloom = rng.uniform(1.5, 2.2), rng.uniform(0.45, 0.65), rng.uniform(0.2, 0.4)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        p = pitch * view_scale(img)
        rows = 1 - dark * (np.sin(np.arange(h) * np.pi / p) ** 2)
        phase = (np.arange(w) / (p / 1.5)) % 3
        grille = np.stack([0.6 + 0.4 * (np.floor(phase) == c) for c in range(3)], -1).astype(np.float32)
        f = img.astype(np.float32) * rows[:, None, None].astype(np.float32) * grille[None] * 1.5
        return _u8(f + bloom * cv2.GaussianBlur(img.astype(np.float32), (0, 0), 2 * view_scale(img)))

    return apply


@lru_cache(maxsize=8)
def _glyphs(size: int) -> np.ndarray:
    """Coverage masks (n, size, size) in [0, 1] of ' .:-=+*#%@' drawn with Pillow's default font, light to dark."""
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default(size=size * 1.3)
    masks = []
    for ch in " .:-=+*#%@":
        tile = PILImage.new("L", (size, size), 0)
        ImageDraw.Draw(tile).text((size / 2, size / 2), ch, fill=255, font=font, anchor="mm")
        masks.append(cv2.dilate(np.asarray(tile, np.float32) / 255, np.ones((2, 2), np.uint8)))
    out = np.stack(masks)
    out.setflags(write=False)
    return out


@_look("digital", "pillow")
def ascii_art(rng: np.random.Generator) -> Instance:
    """ASCII art: each cell a character (drawn with Pillow) as dense as the cell is bright, in the cell's colour."""
    cell, background = rng.uniform(4.0, 5.5), _colour(rng, (10, 12, 10), 8)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        c = _px(img, cell, 4)
        glyphs = _glyphs(c)
        gh, gw = -(-h // c), -(-w // c)
        small = cv2.resize(img, (gw, gh), interpolation=cv2.INTER_AREA).astype(np.float32)
        level = np.clip((small.mean(-1) / 256 * len(glyphs)).astype(int), 0, len(glyphs) - 1)
        cover = glyphs[level].transpose(0, 2, 1, 3).reshape(gh * c, gw * c)[:h, :w, None]
        bright = small * (255 / np.maximum(small.max(-1, keepdims=True), 1))  # the cell's hue at full brightness
        colour = np.repeat(np.repeat(bright, c, 0), c, 1)[:h, :w]
        return _u8(background + cover * (colour - background))

    return apply


# ---------------------------------------------------------------- edge and relief renderings
@_look("edge", "opencv")
def neon(rng: np.random.Generator) -> Instance:
    """Glowing neon edges on black: Canny lines in a hot colour, blurred into a glow."""
    colour = _colour(rng, (255, 50, 205), 30)
    width, glow = rng.uniform(0.8, 1.2), rng.uniform(0.6, 1.2)

    def apply(img: Image) -> Image:
        lines = _edges(img, width, 60, 150).astype(np.float32)
        halo = cv2.GaussianBlur(lines, (0, 0), glow * view_scale(img))
        light = np.clip(lines + 1.5 * halo, 0, 1)[..., None]
        return _u8(light * colour + img.astype(np.float32) / 10)

    return apply


@_look("edge", "opencv")
def blueprint(rng: np.random.Generator) -> Instance:
    """White line drawing on blueprint blue with a faint grid."""
    paper, grid = _colour(rng, (18, 60, 140), 12), rng.uniform(9, 13)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        out = np.empty((h, w, 3), np.uint8)
        out[:] = paper.astype(np.uint8)
        step = _px(img, grid, 4)
        out[::step], out[:, ::step] = paper + 40, paper + 40
        out[_edges(img, 0.6)] = (235, 245, 255)
        return out

    return apply


@_look("edge", "pillow")
def emboss(rng: np.random.Generator) -> Instance:
    """Embossed grey relief (Pillow's EMBOSS kernel on the luminance), contrast stretched."""
    from PIL import ImageFilter, ImageOps

    blur = rng.uniform(0.3, 0.7)
    tint = np.array([1, 1, 1], np.float32) + rng.uniform(-0.05, 0.05, 3)

    def apply(img: Image) -> Image:
        gray = _pil(cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (0, 0), blur * view_scale(img)))
        relief = np.asarray(ImageOps.autocontrast(gray.filter(ImageFilter.EMBOSS), cutoff=1), np.float32)
        return _u8(relief[..., None] * tint)

    return apply


@_look("edge", "opencv")
def metal_relief(rng: np.random.Generator) -> Instance:
    """A picture struck in metal: the luminance as a height field lit from one side, in bronze or silver."""
    angle, depth = rng.uniform(0, 2 * np.pi), rng.uniform(0.8, 1.2)
    base = _colour(rng, (176, 141, 87) if rng.random() < 0.5 else (170, 172, 178), 15)

    def apply(img: Image) -> Image:
        height = cv2.GaussianBlur(_gray(img), (0, 0), 0.7 * view_scale(img))
        shade = np.clip(0.65 + 0.8 * depth * _relief(height, angle), 0, 1.4)[..., None]
        return _u8(base * shade)

    return apply


@_look("edge", "scikit-image")
def edge_trace(rng: np.random.Generator) -> Instance:
    """Grey edge strength (scikit-image's Sobel) on white: every edge, no shading."""
    from skimage.filters import sobel

    gain, blur = rng.uniform(4, 7), rng.uniform(0.4, 0.8)

    def apply(img: Image) -> Image:
        g = cv2.GaussianBlur(_gray(img), (0, 0), blur * view_scale(img))
        return _rgb(1 - np.clip(gain * sobel(g), 0, 1))

    return apply


@_look("edge", "numpy")
def contour_map(rng: np.random.Generator) -> Instance:
    """Topographic map: iso-luminance lines over a pale hypsometric tint."""
    levels, width = int(rng.integers(7, 12)), rng.uniform(0.5, 0.8)
    low, high = _colour(rng, (170, 200, 150), 15), _colour(rng, (235, 215, 170), 15)
    line = _colour(rng, (120, 70, 40), 15)

    def apply(img: Image) -> Image:
        g = cv2.GaussianBlur(_gray(img), (0, 0), 1.2 * view_scale(img))
        band = np.floor(g * levels)
        edge = _borders(band, _px(img, width))
        t = (band / levels)[..., None]
        return _u8(np.where(edge[..., None], line, low + t * (high - low)))

    return apply


@_look("edge", "scikit-image")
def woodcut(rng: np.random.Generator) -> Instance:
    """Woodcut print: a local threshold (scikit-image) carves the picture into black ink and bare paper."""
    from skimage.filters import threshold_local

    block, offset = rng.uniform(9, 15), rng.uniform(-0.03, 0.02)
    ink_c, paper = _colour(rng, (15, 12, 10), 10), _colour(rng, (236, 226, 205), 10)

    def apply(img: Image) -> Image:
        g = cv2.GaussianBlur(_gray(img), (0, 0), 0.5 * view_scale(img))
        size = _px(img, block, 3) | 1
        on = (g > threshold_local(g, size, offset=offset))[..., None]
        return _u8(np.where(on, paper, ink_c))

    return apply


# ---------------------------------------------------------------- screens and light sources
# Each of these recolours the whole picture as one display or one light would, and none adds a texture of its own
# beyond a sensor's noise: within the family the palette (and how tones map onto it) is what tells the looks apart.


def _tinted(rng: np.random.Generator, stops: Sequence[Sequence[float]], spread: float = 14) -> np.ndarray:
    """A ramp's colour stops, each moved a little per instance (`_colour`), dark to light."""
    return np.stack([_colour(rng, stop, spread) for stop in stops])


@_look("light", "numpy")
def night_vision(rng: np.random.Generator) -> Instance:
    """Image-intensifier night vision: amplified luminance in phosphor green, a fixed sensor noise, a round eyepiece."""
    gain, noise_amount, seed = rng.uniform(1.4, 2.0), rng.uniform(0.04, 0.09), _seed(rng)
    stops = _tinted(rng, ((4, 18, 6), (40, 150, 50), (190, 255, 170)), 10)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        lum = np.clip(_gray(img) * gain, 0, 1)
        lum = np.clip(lum + noise_amount * (_noise(h, w, 0.6 * view_scale(img), seed) - 0.5) * 2, 0, 1)
        yy, xx = np.ogrid[0:h, 0:w]
        eyepiece = np.clip(1.6 - 1.3 * np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)), 0, 1)
        return _ramp(lum * eyepiece, stops)

    return apply


@_look("light", "opencv")
def amber_monitor(rng: np.random.Generator) -> Instance:
    """Amber monochrome monitor: the picture in orange phosphor on black, blacks crushed, a soft phosphor glow."""
    gamma, glow = rng.uniform(1.2, 1.8), rng.uniform(0.15, 0.35)
    stops = _tinted(rng, ((0, 0, 0), (150, 70, 0), (255, 176, 40), (255, 235, 170)), 10)

    def apply(img: Image) -> Image:
        lum = _gray(img) ** gamma
        lum = np.clip(lum + glow * cv2.GaussianBlur(lum, (0, 0), 1.5 * view_scale(img)), 0, 1)
        return _ramp(lum, stops)

    return apply


@_look("light", "numpy")
def handheld_lcd(rng: np.random.Generator) -> Instance:
    """Early handheld console screen: luminance in four shades of olive green, no dithering."""
    shades = _tinted(rng, ((15, 56, 15), (48, 98, 48), (139, 172, 15), (155, 188, 15)), 8)
    bias = rng.uniform(-0.08, 0.08)

    def apply(img: Image) -> Image:
        level = np.clip(((_gray(img) + bias) * 4).astype(int), 0, 3)
        return _u8(shades[level])

    return apply


@_look("light", "numpy")
def blacklight(rng: np.random.Generator) -> Instance:
    """Ultraviolet party light: deep violet darks, fluorescent magenta mid-tones, cyan-white highlights."""
    gain = rng.uniform(1.0, 1.4)
    stops = _tinted(rng, ((20, 0, 45), (110, 20, 160), (235, 60, 220), (170, 255, 250)), 16)

    def apply(img: Image) -> Image:
        return _ramp(np.clip(_gray(img) * gain, 0, 1), stops)

    return apply


@_look("light", "scikit-image")
def candlelight(rng: np.random.Generator) -> Instance:
    """Lit by a candle: warm orange light that falls off from a point, deep shadows (scikit-image's gamma)."""
    from skimage.exposure import adjust_gamma

    gamma, warmth = rng.uniform(1.4, 2.0), rng.uniform(0.8, 1.0)
    cx, cy, reach = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.7, 1.1)
    tint = np.array([1.0, 0.62, 0.25], np.float32) * warmth + (1 - warmth)

    def apply(img: Image) -> Image:
        h, w = img.shape[:2]
        yy, xx = np.ogrid[0:h, 0:w]
        falloff = np.clip(1.2 - np.hypot(xx / w - cx, yy / h - cy) / reach, 0.15, 1)[..., None]
        f = adjust_gamma(img.astype(np.float32) / 255, gamma)
        return _u8(f * tint * falloff * 255 * 1.25)

    return apply


@_look("light", "pillow")
def day_for_night(rng: np.random.Generator) -> Instance:
    """Day for night: daylight footage underexposed, desaturated and pushed blue to pass for moonlight (Pillow)."""
    from PIL import ImageEnhance

    brightness, saturation = rng.uniform(0.45, 0.65), rng.uniform(0.2, 0.45)
    blue = _colour(rng, (60, 90, 200), 18) / 255

    def apply(img: Image) -> Image:
        pic = ImageEnhance.Color(ImageEnhance.Brightness(_pil(img)).enhance(brightness)).enhance(saturation)
        f = np.asarray(pic, np.float32) / 255
        lum = f.mean(-1, keepdims=True)
        return _u8((0.35 * f + 0.65 * lum * blue * 1.8) * 255)

    return apply


@_look("light", "scipy")
def underwater(rng: np.random.Generator) -> Instance:
    """Underwater: red absorbed, a blue-green cast, contrast lost in a haze of scattered light (scipy's filters)."""
    from scipy.ndimage import uniform_filter

    absorb, haze = rng.uniform(0.15, 0.4), rng.uniform(0.3, 0.5)
    water = _colour(rng, (20, 120, 140), 16)

    def apply(img: Image) -> Image:
        f = img.astype(np.float32) * np.array([absorb, 0.85, 1.0], np.float32)
        size = _px(img, 6, 3)
        scattered = np.stack([uniform_filter(f[..., c], size) for c in range(3)], -1)
        return _u8((1 - haze) * (0.7 * f + 0.3 * scattered) + haze * water)

    return apply


# ---------------------------------------------------------------- the library and its split
LOOK_LIBRARY: dict[str, Look] = {look.name: look for look in _REGISTRY}
"""Every look by name, in family order."""

FAMILIES: dict[str, tuple[str, ...]] = {
    family: tuple(look.name for look in _REGISTRY if look.family == family)
    for family in dict.fromkeys(look.family for look in _REGISTRY)
}
"""Family -> its looks."""

SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("grade", "halftone", "painterly", "texture", "digital", "light"),
    "heldout": ("film", "drawing", "edge"),
}
"""Families for training and families held out (why these: the module's docstring). Fixed here, disjoint."""


def families_in(split: str) -> tuple[str, ...]:
    """The families of a split: 'train', 'heldout' or 'all'."""
    if split == "all":
        return tuple(FAMILIES)
    if split not in SPLITS:
        raise UnknownLookError(f"unknown split {split!r}; choose from {[*SPLITS, 'all']}")
    return SPLITS[split]


def looks_in(split: str) -> tuple[str, ...]:
    """The looks of a split's families, e.g. `looks_in("train")` for training data that leaves the held-out out."""
    return tuple(name for family in families_in(split) for name in FAMILIES[family])


def get_look(name: str) -> Look:
    """A look by name; an unknown name is an error that lists the known ones."""
    try:
        return LOOK_LIBRARY[name]
    except KeyError:
        raise UnknownLookError(f"unknown look {name!r}; known looks: {', '.join(LOOK_LIBRARY)}") from None


def family_of(name: str) -> str:
    return get_look(name).family


# ---------------------------------------------------------------- palette variants (training data, not library looks)
PALETTE_MARK = "~palette"
"""Joins a look's name and a palette number in a palette variant's name: `halftone~palette2`."""


def palette_shift(seed: int | Sequence[int]) -> Callable[[Image], Image]:
    """A fixed re-colouring in CIELAB: the colour plane rotated (60-300 degrees), scaled and shifted by a tint,
    lightness kept (up to gamut clipping). Textures, edges and tones stay; the palette changes, so a model that must
    tell a look from its shifted copy has to read colour, and a grey look gains a tint."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(np.pi / 3, 5 * np.pi / 3)
    c, s = np.cos(angle), np.sin(angle)
    matrix = rng.uniform(0.7, 1.5) * np.array([[c, -s], [s, c]], np.float32)
    direction = rng.normal(size=2)
    tint = (rng.uniform(12, 30) * direction / np.linalg.norm(direction)).astype(np.float32)

    def apply(img: Image) -> Image:
        lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
        lab[..., 1:] = (lab[..., 1:] - 128) @ matrix.T + tint + 128
        return cv2.cvtColor(_u8(lab), cv2.COLOR_LAB2RGB)

    return apply


def palette_variant(name: str, k: int) -> Look:
    """Look `name` followed by its `k`-th fixed `palette_shift` (the same shift for every instance): a look of its
    own for training, differing from `name` in palette only. Not in `LOOK_LIBRARY`: benchmarks never draw it."""
    base = get_look(name)
    recolour = variant_recolouring(name, k)

    def sample(rng: np.random.Generator) -> Instance:
        instance = base.sample(rng)
        return lambda img: recolour(instance(img))

    return Look(f"{name}{PALETTE_MARK}{k}", base.family, base.library, sample, f"{base.summary} Re-coloured ({k}).")


def variant_recolouring(name: str, k: int) -> Callable[[Image], Image]:
    """The `palette_shift` of look `name`'s `k`-th palette variant (fixed by the name and `k`)."""
    return palette_shift([sum(name.encode()), len(name), k])


def base_look(name: str) -> str:
    """The library look a (possibly palette-variant) look name comes from."""
    return name.split(PALETTE_MARK)[0]


# ---------------------------------------------------------------- composed looks (training data, not library looks)
COMPOSE_MARK = "+"
"""Joins the two looks of a composition in its name, in the order they are applied: `pixel+sepia`."""


def compose(first: str, second: str) -> Look:
    """Look `first`, then look `second` on its output: a look of its own for training, drawn as one instance.

    Why: the training families hold only ~50 looks, and in each of them palette and texture come bundled one way.
    Applying two looks of different families in sequence (a pixel-art screen under a sepia grade, a canvas weave
    under a halftone) gives hundreds of looks in which palette and texture vary independently, the kind of
    diversity domain randomisation relies on to generalise beyond the looks written here. An instance draws both
    looks' parameters once from one stream, so it is a fixed function of the frame: two coherent looks make a
    coherent composition on video. Not in `LOOK_LIBRARY`: benchmarks never draw it."""
    a, b = get_look(first), get_look(second)

    def sample(rng: np.random.Generator) -> Instance:
        one, two = a.sample(rng), b.sample(rng)
        return lambda img: two(one(img))

    return Look(f"{first}{COMPOSE_MARK}{second}", f"{a.family}{COMPOSE_MARK}{b.family}",
                f"{a.library}{COMPOSE_MARK}{b.library}", sample, f"{a.summary} Then: {b.summary}")


def source_families(name: str) -> tuple[str, ...]:
    """The library families a training look's name draws on: one for a library look or a palette variant, two for
    a composition. Leaving a family out of training leaves out every look whose name draws on it."""
    return tuple(family_of(base_look(part)) for part in name.split(COMPOSE_MARK))
