"""Backbone weights: the shipped EfficientNet-Lite0 really is ImageNet-trained; VGG19 resolution order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidstyle.backbones import WeightsUnavailable, get_spec, load_backbone, resolve_weights


def classify(image: np.ndarray) -> list[int]:
    backbone = load_backbone("efficientnet_lite0")
    w = backbone.spec.weights
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    x = (x - torch.tensor(w.mean).view(1, 3, 1, 1)) / torch.tensor(w.std).view(1, 3, 1, 1)
    with torch.inference_mode():
        return backbone.model(x).topk(3).indices[0].tolist()


def test_efficientnet_lite0_weights_classify_imagenet_photos() -> None:
    import skimage.data

    cat = classify(skimage.data.chelsea())
    coffee = classify(skimage.data.coffee())
    print("chelsea top-3", cat, "coffee top-3", coffee)
    assert cat[0] in range(281, 286), "tabby/tiger/Persian/Siamese/Egyptian cat"
    assert coffee[0] in {967, 968, 504}, "espresso / cup / coffee mug"


def test_vgg19_weights_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_spec("vgg19")
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"x")
    assert resolve_weights(spec, explicit) == explicit
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        resolve_weights(spec, tmp_path / "absent.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / spec.weights.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert resolve_weights(spec) == cached
    cached.unlink()
    # No file and no network on these machines: the download fails with instructions.
    monkeypatch.setattr(torch.hub, "download_url_to_file", _offline_download)
    with pytest.raises(WeightsUnavailable, match="weights_path") as exc:
        resolve_weights(spec)
    assert "offline.yaml" in str(exc.value)


def _offline_download(url: str, dst: str, *args: object, **kwargs: object) -> None:
    raise OSError("network unreachable")


def test_random_init_only_on_request() -> None:
    backbone = load_backbone("efficientnet_lite0", pretrained=False)
    assert backbone.weights_sha256 == "random-init"
