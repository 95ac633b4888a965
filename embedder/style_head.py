"""A learned style embedding: a small head over the frozen backbone's per-frame style statistics.

The hand-built style vectors weigh their blocks (colour-tap statistics, luminance texture at two scales, chroma,
tone) by fixed rules, so whatever a block also says about the *subject* (a cat's fur is a texture too) leaks into
"same style". The head is trained, supervised-contrastively, to pull together frames in one look whatever their
subject, crop, scale and compression, and to push apart frames of one subject in different looks
(`embedder.train_style_head`). It only re-weights and mixes statistics the extractor already computes, so it adds
a millisecond per batch and a few MB, and it inherits the backbone's invariances.

A head is tied to the feature layout it was trained on (block names and sizes, input size, block normalisation):
`check_layout` refuses any other, and its sha256 enters the dataset fingerprint, so vectors from two heads never
mix in one index.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_write_bytes
from vidstyle.embedder.packaged import packaged_file

HEAD_FORMAT = 1
AUTO = "auto"
T = TypeVar("T")


class StyleHeadError(VidstyleError, ValueError):
    """A style head that cannot be used: missing, unreadable, or built for other features."""


class StyleHead(nn.Module):
    """Standardise the concatenated blocks, then Linear → GELU → Linear → unit vector.

    `mean`/`std` are fitted on the training frames and ship with the weights (a per-dimension whitening of the
    statistics, so that no block dominates the first layer by scale).

    With `palette_gate`, the output also carries the frame's RGB histogram block scaled by a weight the head
    predicts per frame (softplus of a linear read of the hidden layer): unit([z, g · rgb]). Two frames' cosine then
    counts palette evidence by g_a · g_b, so the head can rely on palette for looks that bring their own colours
    and ignore it for looks that keep the subject's, instead of one fixed weight for every look.
    """

    def __init__(self, layout: dict[str, int], features: dict, hidden: int = 512, out_dim: int = 128,
                 palette_gate: bool = False) -> None:
        super().__init__()
        self.layout, self.features = dict(layout), dict(features)
        self.hidden, self.out_dim, self.palette_gate = hidden, out_dim, palette_gate
        d = sum(layout.values())
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        if palette_gate:
            if "rgb" not in layout:
                raise StyleHeadError("a palette gate needs the features' `rgb` block")
            start = sum(list(layout.values())[: list(layout).index("rgb")])  # the blocks ahead of it
            self.rgb = slice(start, start + layout["rgb"])
            self.gate = nn.Linear(hidden, 1)
        self.sha256 = "untrained"

    def forward(self, blocks: torch.Tensor) -> torch.Tensor:
        if not self.palette_gate:
            return F.normalize(self.net((blocks - self.mean) / self.std), dim=1)
        hidden = self.net[1](self.net[0]((blocks - self.mean) / self.std))
        z = F.normalize(self.net[2](hidden), dim=1)
        weight = F.softplus(self.gate(hidden))
        return F.normalize(torch.cat([z, weight * F.normalize(blocks[:, self.rgb], dim=1)], 1), dim=1)

    def check_layout(self, layout: dict[str, int], features: dict | None = None) -> None:
        """Refuse features other than those the head was trained on, saying what differs and what to do."""
        problems = []
        if list(layout.items()) != list(self.layout.items()):
            problems.append(f"blocks {_short(layout)} vs the head's {_short(self.layout)}")
        for key, value in (features or {}).items():
            if self.features.get(key) != value:
                problems.append(f"{key} {value!r} vs the head's {self.features.get(key)!r}")
        if problems:
            raise StyleHeadError("the style head was trained on other features: " + "; ".join(problems)
                                 + " (train one for these settings with `vidstyle train-style-head`, or set "
                                 "model.style_head: null)")


def _short(layout: dict[str, int]) -> str:
    return f"{len(layout)} blocks, {sum(layout.values())} dims"


def save_head_state(state: dict, path: Path) -> None:
    """A head checkpoint's state, written atomically; through a buffer, since a file name would enter the archive,
    and with it the sha256 (so the same head is the same bytes wherever it is written)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def read_head_state(path: Path, what: str, fmt: int, error: type[VidstyleError], build: Callable[[dict], T],
                    command: str) -> tuple[T, str]:
    """`build(state)` of a checkpoint written by `save_head_state`, and the file's sha256; any unreadable,
    foreign or malformed file is one `error` naming `what` it should have been and the `command` that makes one."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} does not exist ({command})")
    try:
        raw = path.read_bytes()
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        if state.get("format") != fmt:
            raise error(f"{path} is not a {what} of format {fmt}")
        built = build(state)
    except error:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one user error
        raise error(f"cannot read {what} {path}: {exc}") from exc
    return built, hashlib.sha256(raw).hexdigest()


def resolve_head(setting: str | Path | None, packaged: Callable[[], Path | None]) -> Path | None:
    """A `model.*_head` setting: None = no head; 'auto' = the packaged one when there is one; else a path."""
    if setting is None:
        return None
    if str(setting) == AUTO:
        return packaged()
    return Path(setting)


def save_style_head(head: StyleHead, path: Path, extra: dict | None = None) -> None:
    """The weights with everything needed to rebuild and check the head; `extra` (training record) is kept."""
    save_head_state({
        "format": HEAD_FORMAT,
        "layout": head.layout,
        "features": head.features,
        "hidden": head.hidden,
        "out_dim": head.out_dim,
        **({"palette_gate": True} if head.palette_gate else {}),  # absent otherwise: older heads' bytes unchanged
        "state_dict": {k: v.detach().cpu() for k, v in head.state_dict().items()},
        "extra": extra or {},
    }, path)


def _build_style_head(state: dict) -> StyleHead:
    head = StyleHead(state["layout"], state["features"], state["hidden"], state["out_dim"],
                     bool(state.get("palette_gate", False)))
    head.load_state_dict(state["state_dict"])
    return head


def load_style_head(path: Path) -> StyleHead:
    head, head.sha256 = read_head_state(path, "style head", HEAD_FORMAT, StyleHeadError, _build_style_head,
                                        "train one with `vidstyle train-style-head`")
    return head.eval().requires_grad_(False)


def packaged_head(backbone: str) -> Path | None:
    """The head shipped in the package for `backbone`, if one was trained (heads/<backbone>.pt)."""
    return packaged_file(f"{backbone}.pt")


def resolve_style_head(setting: str | Path | None, backbone: str) -> Path | None:
    """`model.style_head`: None = no head; 'auto' = the packaged head of the backbone when there is one."""
    return resolve_head(setting, lambda: packaged_head(backbone))
