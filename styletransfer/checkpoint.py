"""Checkpoints of every trained method: what they hold, how they are written (atomically) and read back (verified).

A checkpoint stores the model's config (with its `method`), the SHA-256 of the backbone weights it was trained
on, the trained state, and whatever the training loop adds to resume exactly (step, optimiser, random state,
history).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vidstyle.backbones import LoadedBackbone, load_backbone
from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_path
from vidstyle.styletransfer.methods import StyleModel, build_model
from vidstyle.styletransfer.model import CinConfig, CinModel

CHECKPOINT_FORMAT = 1


class CheckpointError(VidstyleError, ValueError):
    """A style-transfer checkpoint that cannot be read or does not fit the configured backbone or method."""


def save_checkpoint(path: Path, model: StyleModel, extra: dict[str, Any] | None = None) -> None:
    """Write atomically: a crash mid-save leaves the previous checkpoint intact."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": model.config.to_dict(),
        "backbone_sha256": model.backbone_sha256,
        "state": model.trained_state(),
        **(extra or {}),
    }
    with atomic_path(Path(path)) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"style-transfer checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)  # no pickled code
    except Exception as exc:  # noqa: BLE001 - any unpickling error means the same: not a checkpoint
        raise CheckpointError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a vidstyle style-transfer checkpoint (format {CHECKPOINT_FORMAT})")
    return payload


def load_cin(path: Path, backbone: LoadedBackbone | None = None, weights_path: Path | None = None,
             device: torch.device | str = "cpu") -> CinModel:
    """Ghiasi's model (the `style_cin` embedding) of a checkpoint; a checkpoint of another method is refused."""
    model = load_model(path, backbone, weights_path, device)
    if not isinstance(model, CinModel):
        raise CheckpointError(f"{path} holds a {model.config.method} model; the style_cin embedding needs a ghiasi "
                              f"checkpoint (vidstyle train-style --method ghiasi)")
    return model


def load_model(path: Path, backbone: LoadedBackbone | None = None, weights_path: Path | None = None,
               device: torch.device | str = "cpu") -> StyleModel:
    """The model of a checkpoint, of its method, on `backbone` (loaded from the checkpoint's backbone name when
    None).

    The backbone's weights must be the ones the model was trained on: a head or decoder on other features is
    meaningless.
    """
    payload = read_checkpoint(path)
    config = CinConfig.from_dict(payload["config"])
    if backbone is None:
        backbone = load_backbone(config.backbone, weights_path)
    if backbone.spec.name != config.backbone:
        raise CheckpointError(
            f"checkpoint {path} was trained on backbone {config.backbone}, the config uses {backbone.spec.name}"
        )
    if backbone.weights_sha256 != payload["backbone_sha256"]:
        raise CheckpointError(
            f"checkpoint {path} was trained on {config.backbone} weights {payload['backbone_sha256'][:12]}, "
            f"the loaded weights are {backbone.weights_sha256[:12]}"
        )
    model = build_model(config, backbone)
    model.load_trained_state(payload["state"])
    return model.to(device).train(False)
