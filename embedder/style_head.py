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
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_write_bytes

HEAD_FORMAT = 1
AUTO = "auto"


class StyleHeadError(VidstyleError, ValueError):
    """A style head that cannot be used: missing, unreadable, or built for other features."""


class StyleHead(nn.Module):
    """Standardise the concatenated blocks, then Linear → GELU → Linear → unit vector.

    `mean`/`std` are fitted on the training frames and ship with the weights (a per-dimension whitening of the
    statistics, so that no block dominates the first layer by scale).
    """

    def __init__(self, layout: dict[str, int], features: dict, hidden: int = 512, out_dim: int = 128) -> None:
        super().__init__()
        self.layout, self.features = dict(layout), dict(features)
        self.hidden, self.out_dim = hidden, out_dim
        d = sum(layout.values())
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        self.sha256 = "untrained"

    def forward(self, blocks: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net((blocks - self.mean) / self.std), dim=1)

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


def save_style_head(head: StyleHead, path: Path, extra: dict | None = None) -> None:
    """The weights with everything needed to rebuild and check the head; `extra` (training record) is kept."""
    state = {
        "format": HEAD_FORMAT,
        "layout": head.layout,
        "features": head.features,
        "hidden": head.hidden,
        "out_dim": head.out_dim,
        "state_dict": {k: v.detach().cpu() for k, v in head.state_dict().items()},
        "extra": extra or {},
    }
    buf = io.BytesIO()  # saved through a buffer: a file name would enter the archive, and with it the sha256
    torch.save(state, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_style_head(path: Path) -> StyleHead:
    path = Path(path)
    if not path.is_file():
        raise StyleHeadError(f"style head {path} does not exist (train one with `vidstyle train-style-head`)")
    try:
        raw = path.read_bytes()
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        if state.get("format") != HEAD_FORMAT:
            raise StyleHeadError(f"{path} is not a style head of format {HEAD_FORMAT}")
        head = StyleHead(state["layout"], state["features"], state["hidden"], state["out_dim"])
        head.load_state_dict(state["state_dict"])
    except StyleHeadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one user error
        raise StyleHeadError(f"cannot read style head {path}: {exc}") from exc
    head.sha256 = hashlib.sha256(raw).hexdigest()
    return head.eval().requires_grad_(False)


def packaged_head(backbone: str) -> Path | None:
    """The head shipped in the package for `backbone`, if one was trained (heads/<backbone>.pt)."""
    path = Path(str(resources.files("vidstyle.embedder") / "heads" / f"{backbone}.pt"))
    return path if path.is_file() else None


def resolve_style_head(setting: str | Path | None, backbone: str) -> Path | None:
    """`model.style_head`: None = no head; 'auto' = the packaged head of the backbone when there is one."""
    if setting is None:
        return None
    if str(setting) == AUTO:
        return packaged_head(backbone)
    return Path(setting)
