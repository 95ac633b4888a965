"""The feature extractor's per-frame preprocessing as batched torch ops, on the model's device.

`vidstyle.embedder.features` prepares frames with OpenCV, one frame at a time, on the CPU: the moving-region
mask (grey, area-resize to a grid, std over time, closing, connected parts, bounding box), the content input
(crop to the moving box, resize, grey, Gaussian blur) and the colour histogram. On a GPU that loop would starve
the model: the backbone runs thousands of frames a second, the loop a few hundred. Here the same steps are
tensor ops over the whole batch, so they run where the model runs (and vectorise the CPU path too):

- resize is a pair of batched matrix products, out = Rᵧ · frame · Rₓᵀ, with the weights OpenCV's `INTER_AREA`
  uses (exact area averaging when shrinking both axes, OpenCV's area-mode linear weights otherwise). Cropping
  is folded into the same matrices (zero weight outside the box), so every frame gets its own crop in one op;
- grey is OpenCV's fixed-point BT.601 sum, blur a separable Gaussian of OpenCV's size and border (reflect-101);
- values are rounded to 0..255 wherever OpenCV writes uint8. Grey, the mask grid, the masks and the
  unblurred whole-frame content input are then identical to OpenCV's. OpenCV computes a crop that must grow
  along one axis with 11-bit fixed-point weights and the uint8 blur with fixed-point taps, the torch path both in
  float, so there values near a half-way point round the other way: one grey level, on ~5-10% of values, a
  content-vector cosine distance of a few 1e-3 (measured in tests/embedder/test_preprocess.py);
- connected parts of the moving grid are labelled by repeated 3x3 min-pooling of cell numbers, all videos at
  once: a grid is 28x28, so that converges in a few dozen tiny steps.

Frames come in as decoded, (n, H, W, 3) uint8 RGB, as a tensor (`frames_on`), so only bytes cross to the GPU.
Decoding stays on CPU workers: decord's GPU decoder needs a CUDA build of decord, which PyPI does not ship.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.core.settings import ModelSettings

GRID = 28  # the moving-region grid; features.moving_region_weights' default


def frames_on(frames: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """(n, H, W, 3) uint8 frames → the same uint8 tensor on `device`; pinned first when it is a GPU, so the copy
    is a quarter of a float copy and overlaps with work already queued."""
    x = torch.from_numpy(np.require(frames, requirements=["C"]))
    if torch.device(device).type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def _area_weights(n_in: int, n_out: int, lo: torch.Tensor, hi: torch.Tensor, area: bool) -> torch.Tensor:
    """(b, n_out, n_in) weights resizing each row's source span [lo, hi) to n_out samples, as cv2.INTER_AREA does.

    `area`: exact area averaging (OpenCV's path when neither axis grows); otherwise OpenCV's area-mode linear
    weights (its path when either axis grows: sharp bilinear steps). Outside the span the weights are 0.
    """
    device = lo.device
    span = (hi - lo).double()[:, None]  # (b, 1)
    scale = span / n_out  # source pixels per output pixel
    dst = torch.arange(n_out, device=device, dtype=torch.float64)[None]  # (1, n_out)
    src = torch.arange(n_in, device=device, dtype=torch.float64)[None, None]  # (1, 1, n_in)
    if area:
        start, end = (dst * scale)[..., None], ((dst + 1) * scale)[..., None]  # in span coordinates
        rel = src - lo.double()[:, None, None]
        overlap = (torch.minimum(rel + 1, end) - torch.maximum(rel, start)).clamp_min(0)
        weights = overlap / scale[..., None]
    else:
        sx = torch.floor(dst * scale)
        fx = (dst + 1) - (sx + 1) / scale
        fx = torch.where(fx <= 0, torch.zeros_like(fx), fx - torch.floor(fx))
        last = span - 1
        left, right = sx.clamp(max=last), (sx + 1).clamp(max=last)  # OpenCV clamps at the border
        left, right = left + lo.double()[:, None], right + lo.double()[:, None]
        weights = ((src == left[..., None]) * (1 - fx)[..., None]) + ((src == right[..., None]) * fx[..., None])
    return weights.float()


def crop_resize(frames: torch.Tensor, boxes: torch.Tensor | None, size: int) -> torch.Tensor:
    """(n, C, H, W) float frames, each cropped to its box (top, bottom, left, right; None = whole) and resized to
    size x size with cv2.INTER_AREA's weights; (n, C, size, size) float, not rounded.

    Whole frames shrunk by a whole factor are block means (`avg_pool2d`, what OpenCV's area path computes);
    anything else is the weight-matrix product, with the weights built once per distinct box (a video's frames
    share theirs)."""
    n, _, h, w = frames.shape
    if boxes is None and h % size == 0 and w % size == 0:
        return F.avg_pool2d(frames, (h // size, w // size))
    if boxes is None:
        boxes = torch.tensor([[0, h, 0, w]], device=frames.device).expand(n, 4)
    unique, which = torch.unique(boxes.to(frames.device), dim=0, return_inverse=True)
    # OpenCV takes the area path only when neither axis grows (per box: each crop has its own sizes).
    shrinks = (((unique[:, 1] - unique[:, 0]) >= size) & ((unique[:, 3] - unique[:, 2]) >= size))[:, None, None]
    ry = torch.where(shrinks, _area_weights(h, size, unique[:, 0], unique[:, 1], True),
                     _area_weights(h, size, unique[:, 0], unique[:, 1], False))[which]
    rx = torch.where(shrinks, _area_weights(w, size, unique[:, 2], unique[:, 3], True),
                     _area_weights(w, size, unique[:, 2], unique[:, 3], False))[which]
    return ry[:, None] @ frames @ rx[:, None].transpose(-1, -2)


def _round_u8(x: torch.Tensor, half_even: bool = False) -> torch.Tensor:
    """Where OpenCV writes uint8: round and saturate; the values stay float. Its fixed-point paths (blur, the
    linear and the 2x area resize) round half up, its float paths (other area resizes) half to even."""
    return (x.round() if half_even else torch.floor(x + 0.5)).clamp_(0, 255)


def grey(frames: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) RGB values 0..255 (integers) → (n, 1, H, W): cv2.COLOR_RGB2GRAY's fixed-point BT.601 sum as
    OpenCV computes it for uint8, (9798 R + 19235 G + 3735 B + 2¹⁴) >> 15 (older OpenCV builds used 14 bits,
    which differs by one grey level on a few pixels in a thousand). Exact in float32: the sum stays under 2²⁴."""
    r, g, b = frames.float().unbind(1)
    return torch.floor((r * 9798 + g * 19235 + b * 3735 + 16384) / 32768).unsqueeze(1)


def gaussian_kernel(sigma: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """The Gaussian of cv2.GaussianBlur(uint8 image, (0, 0), sigma): side round(6σ + 1) | 1, sum 1, in float
    (OpenCV rounds its taps to fixed point, so the two differ by rounding: module docstring)."""
    side = int(math.floor(sigma * 3 * 2 + 1 + 0.5)) | 1
    x = torch.arange(side, dtype=torch.float64) - (side - 1) / 2
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return (k / k.sum()).float().to(device)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(n, C, H, W) → the same blurred as cv2.GaussianBlur(·, (0, 0), sigma) does: separable, reflect-101 border."""
    k = gaussian_kernel(sigma, x.device)
    c, r = x.shape[1], (len(k) - 1) // 2
    x = F.pad(x, (r, r, r, r), mode="reflect")  # torch's "reflect" leaves the edge pixel out, as reflect-101
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def content_frames_torch(frames: torch.Tensor, region_weights: torch.Tensor | None,
                         settings: ModelSettings) -> torch.Tensor:
    """`features.content_frames` on a batch: (n, H, W, 3) uint8 frames (on any device) and (n, g, g) region
    weights (or None) → the content pass input as (n, 3, s, s) float32 in [0, 1], s = content_input_size, on the
    frames' device: what `frames_to_tensor(content_frames(...))` gives, up to OpenCV's rounding (module docstring).
    """
    size = settings.content_input_size
    x = frames.permute(0, 3, 1, 2).float()
    boxes = None if region_weights is None else mask_boxes_torch(region_weights, frames.shape[1])
    x = _round_u8(crop_resize(x, boxes, size))
    if settings.content_grayscale:
        x = grey(x).expand(-1, 3, -1, -1)
    if settings.content_contrast:
        x = stretch_contrast_torch(x)
    if settings.content_blur > 0:
        x = _round_u8(gaussian_blur(x, settings.content_blur))
    return x.div(255).contiguous()


def stretch_contrast_torch(x: torch.Tensor, low: float = 1.0, high: float = 99.0) -> torch.Tensor:
    """`features.stretch_contrast` per image of (n, C, H, W) values 0..255: the `low`..`high` percentiles
    (numpy's linear interpolation) stretched to 0..255, truncated as numpy's cast to uint8 does; images whose
    percentiles lie under one level apart are left as they are."""
    flat = x.flatten(1).double()
    bounds = torch.quantile(flat, torch.tensor([low / 100, high / 100], dtype=torch.float64, device=x.device), dim=1)
    lo, hi = bounds[0][:, None], bounds[1][:, None]
    stretched = torch.floor(((flat - lo) * (255.0 / (hi - lo).clamp_min(1e-12))).clamp(0, 255))
    return torch.where(hi - lo < 1, flat, stretched).view_as(x).to(x.dtype)


def edge_map_torch(x: torch.Tensor) -> torch.Tensor:
    """`features.edge_map` on (n, 3, s, s) values 0..255 (RGB): the luminance's Sobel gradient magnitude (3x3,
    reflect-101 border), scaled so its 99th percentile is 255, clipped and truncated; the same shape."""
    g = grey(x)
    dx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
    kernels = torch.stack([dx, dx.T])[:, None]
    grad = F.conv2d(F.pad(g, (1, 1, 1, 1), mode="reflect"), kernels)
    mag = grad.pow(2).sum(1, keepdim=True).sqrt()
    top = torch.quantile(mag.flatten(1).double(), 0.99, dim=1).clamp_min(1.0).float()[:, None, None, None]
    return torch.floor((mag * (255.0 / top)).clamp(0, 255)).expand(-1, 3, -1, -1)


def mask_boxes_torch(weights: torch.Tensor, size: int) -> torch.Tensor:
    """`features.mask_box` on a batch: (n, g, g) weights → (n, 4) long boxes (top, bottom, left, right) in pixels of
    a `size` frame; a frame that mask_box leaves whole (weights all on, or all off) gets (0, size, 0, size)."""
    on = weights > 0.5
    n, g_h, g_w = on.shape
    rows, cols = on.any(dim=2), on.any(dim=1)
    whole = on.flatten(1).all(dim=1) | ~on.flatten(1).any(dim=1)
    top, bottom = _first_last(rows)
    left, right = _first_last(cols)
    boxes = torch.stack([top * size // g_h, (bottom + 1) * size // g_h, left * size // g_w,
                         (right + 1) * size // g_w], dim=1)
    full = torch.tensor([0, size, 0, size], device=weights.device)
    return torch.where(whole[:, None], full, boxes)


def _first_last(flags: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the first and last True of each row of (n, m) flags (0 and m-1 when a row has none)."""
    idx = torch.arange(flags.shape[1], device=flags.device)
    m = flags.shape[1]
    first = torch.where(flags, idx, m).amin(dim=1).clamp(max=m - 1)
    last = torch.where(flags, idx, -1).amax(dim=1).clamp(min=0)
    return first, last


def colour_histogram_torch(frames: torch.Tensor, bins: int = 8) -> torch.Tensor:
    """`features.colour_histogram` on the frames' device: (n, H, W, 3) uint8 → (n, bins³) float32, square-rooted
    joint RGB histograms. Counts are integers either way, so the two agree to float rounding."""
    q = frames.int() * bins // 256  # int32: a quarter of the memory traffic of int64 codes
    codes = ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).flatten(1)
    n, per_frame = codes.shape
    codes += torch.arange(n, device=codes.device, dtype=torch.int32)[:, None] * bins**3
    hist = torch.bincount(codes.flatten(), minlength=n * bins**3).view(n, bins**3)
    return (hist.float() / per_frame).sqrt()


def small_grey(frames: torch.Tensor, grid: int) -> torch.Tensor:
    """(n, H, W, 3) uint8 → (n, grid, grid) float32 luminance, as features._small_gray: grey, then area resize,
    each rounded to 0..255 as OpenCV's uint8 steps are."""
    g = grey(frames.permute(0, 3, 1, 2).float())
    return _round_u8(crop_resize(g, None, grid), half_even=grid * 2 != frames.shape[1])[:, 0]


def moving_region_weights_torch(frames: torch.Tensor, lengths: Sequence[int], grid: int = GRID,
                                threshold: float = 2.0, min_static: float = 0.2, min_band: float = 0.08,
                                min_part: float = 0.02) -> list[torch.Tensor | None]:
    """`features.moving_region_weights` for several videos at once: `frames` is their frames back to back,
    (sum(lengths), H, W, 3) uint8, `lengths` each video's count. Per video, the (grid, grid) float32 box weights,
    or None where masking does not apply (a single frame, a still video, no framing template), as there."""
    lengths = [int(n) for n in lengths]
    if sum(lengths) != len(frames):
        raise ValueError(f"lengths add up to {sum(lengths)} frames, but {len(frames)} were given")
    out: list[torch.Tensor | None] = [None] * len(lengths)
    multi = [i for i, n in enumerate(lengths) if n >= 2]
    if not multi:
        return out
    small = small_grey(frames, grid)
    video = torch.repeat_interleave(torch.arange(len(lengths), device=frames.device),
                                    torch.tensor(lengths, device=frames.device))
    counts = torch.tensor(lengths, device=frames.device, dtype=torch.float32).clamp_min(1)[:, None, None]
    zeros = torch.zeros(len(lengths), grid, grid, device=frames.device)
    mean = zeros.index_add(0, video, small) / counts
    var = zeros.index_add(0, video, (small - mean[video]) ** 2) / counts  # ddof 0, as numpy's std
    moving = (var.sqrt() > threshold)[multi]
    moving = _close(moving, 5)
    labels = _components(moving)
    kept = _large_parts(labels, min_part * grid * grid)
    for j, i in enumerate(multi):
        out[i] = _framed_box(kept[j], grid, min_static, min_band)
    return out


def _close(mask: torch.Tensor, side: int) -> torch.Tensor:
    """Morphological closing of (v, g, g) bool masks by a side x side square: dilate then erode, the border never
    counting (cv2.morphologyEx's default border)."""
    r = side // 2
    x = mask.float()[:, None]
    dilated = F.max_pool2d(F.pad(x, (r, r, r, r), value=0.0), side, stride=1)
    eroded = -F.max_pool2d(F.pad(-dilated, (r, r, r, r), value=-1.0), side, stride=1)
    return eroded[:, 0] > 0.5


def _components(mask: torch.Tensor) -> torch.Tensor:
    """8-connected labels of (v, g, g) bool masks: each on-cell gets the smallest cell number of its part
    (off-cells get -1). Min-propagation over 3x3 neighbourhoods until nothing changes."""
    v, h, w = mask.shape
    big = h * w
    numbers = torch.arange(big, device=mask.device, dtype=torch.float32).view(1, h, w).expand(v, h, w)
    labels = torch.where(mask, numbers, torch.full_like(numbers, big))
    for _ in range(big):
        spread = -F.max_pool2d(F.pad(-labels[:, None], (1, 1, 1, 1), value=-float(big)), 3, stride=1)[:, 0]
        spread = torch.where(mask, spread, torch.full_like(spread, big))
        if torch.equal(spread, labels):
            break
        labels = spread
    return torch.where(mask, labels, torch.full_like(labels, -1)).long()


def _large_parts(labels: torch.Tensor, min_area: float) -> torch.Tensor:
    """(v, g, g) bool: the cells of parts with at least `min_area` cells."""
    v, h, w = labels.shape
    flat = labels.flatten(1)
    offsets = torch.arange(v, device=labels.device)[:, None] * (h * w)
    counts = torch.bincount((flat.clamp_min(0) + offsets).flatten(), weights=(flat >= 0).flatten().float(),
                            minlength=v * h * w)
    area = counts[(flat.clamp_min(0) + offsets)]
    return ((flat >= 0) & (area >= min_area)).view(v, h, w)


def _framed_box(keep: torch.Tensor, grid: int, min_static: float, min_band: float) -> torch.Tensor | None:
    """The box weights of one video's kept parts when static bands frame it on two opposite sides (see
    features.moving_region_weights), else None. A handful of scalars: decided on the host."""
    if not bool(keep.any()):
        return None
    rows = torch.nonzero(keep.any(dim=1)).flatten().tolist()
    cols = torch.nonzero(keep.any(dim=0)).flatten().tolist()
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    bands = [top / grid, (grid - bottom) / grid, left / grid, (grid - right) / grid]
    framed = (bands[0] >= min_band and bands[1] >= min_band) or (bands[2] >= min_band and bands[3] >= min_band)
    box = torch.zeros(grid, grid, device=keep.device)
    box[top:bottom, left:right] = 1.0
    if not framed or float(box.mean()) > 1.0 - min_static:
        return None
    return box
