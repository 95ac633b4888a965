"""Learned style embeddings: a style transformer with conditional instance normalisation (CIN) and a
style-prediction network P that maps any image to the CIN parameters through a small bottleneck.

Dumoulin et al. ("A Learned Representation for Artistic Style") showed that one shared feed-forward
transformer (Johnson et al.) can render many styles when each style only owns the scale and shift (γ, β) of
every instance-normalisation layer: z = γ_s (x - μ) / σ + β_s. Ghiasi et al. ("Exploring the Structure of a
Real-time, Arbitrary Neural Artistic Stylization Network") replaced the per-style lookup table by a network P:
style image → ~100-d bottleneck → all γ, β, so unseen styles work too. That bottleneck is what we index as the
`style_cin` vector: it is trained to carry exactly what the transformer needs to reproduce a look.

P's trunk is the frozen ImageNet backbone's low and middle taps (the same weights the other vectors use), so
only a small head is trained: per tap, channel mean/std of the raw features (AdaIN statistics) and of a learned
1x1 projection (cheap second-order, Gram-like, information), then an MLP to the bottleneck.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.backbones import LoadedBackbone, frames_to_tensor
from vidstyle.core.settings import ConfigError

# Taps used by the perceptual loss and by P, per backbone. VGG19: Gatys' style layers and content layer.
# EfficientNet-Lite0: the same depths (/2, /2, /4, /8) for style; block10 (the backbone's first content tap).
# "encoder" is AdaIN's frozen encoder cut (relu4_1 in Huang & Belongie; block4 is at the same /8 depth).
LOSS_TAPS: dict[str, dict[str, tuple[str, ...]]] = {
    "vgg19": {
        "style": ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
        "content": ("relu4_2",),
        "predictor": ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
        "encoder": ("relu4_1",),
    },
    "efficientnet_lite0": {
        "style": ("stem", "block0", "block2", "block4"),
        "content": ("block10",),
        "predictor": ("stem", "block0", "block2", "block4"),
        "encoder": ("block4",),
    },
}

# The seed's methods that train a network (`vidstyle train-style --method`); Gatys et al. optimise pixels instead.
TRAINED_METHODS = ("ghiasi", "cin", "johnson", "stylebank", "adain")
METHODS = ("gatys", *TRAINED_METHODS)


@dataclass
class CinConfig:
    """Everything that defines the networks and the training run; stored in every checkpoint.

    One config serves every trained method (`method`): they share the transformer's shape, the loss taps and
    weights and the optimiser; the few method-specific fields say which method reads them.
    """

    method: str = "ghiasi"  # one of METHODS; checkpoints written before methods existed are ghiasi
    backbone: str = "efficientnet_lite0"
    image_size: int = 128  # training crops of content and style images
    style_size: int = 128  # P always sees its input resized to this side (train, embed, stylize alike)
    channels: tuple[int, int, int] = (16, 32, 64)
    n_residual: int = 3
    bottleneck: int = 100
    proj_channels: int = 32  # P head: learned 1x1 projection per tap
    style_taps: tuple[str, ...] = ()
    content_taps: tuple[str, ...] = ()
    predictor_taps: tuple[str, ...] = ()
    content_weight: float = 1.0  # losses are relative errors (see train_style._relative), hence O(1) weights
    style_weight: float = 5.0
    tv_weight: float = 10.0
    lr: float = 1e-3
    batch: int = 4
    steps: int = 1000
    seed: int = 0
    save_every: int = 100
    clip_grad: float = 20.0  # global gradient-norm clip (typical norms 7-13 at the start): spikes only
    loss_scales: dict[str, float] = field(default_factory=dict)  # set from the data at the start of training
    n_styles: int = 0  # cin, johnson, stylebank: styles learned (one per style file), set from the data
    bank_t: int = 2  # stylebank: T stylising steps, then one reconstruction step (Chen et al.'s T:1 schedule)
    frozen_styles: int = 0  # stylebank --add-style: banks below this index, E and D stay fixed (0: train all)
    encoder_tap: str = ""  # adain: the frozen encoder's cut
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown style-transfer method {self.method!r}; known: {', '.join(METHODS)}")
        defaults = LOSS_TAPS.get(self.backbone)
        if defaults is None:
            raise ConfigError(f"no CIN tap table for backbone {self.backbone!r}; known: {sorted(LOSS_TAPS)}")
        self.style_taps = tuple(self.style_taps or defaults["style"])
        self.content_taps = tuple(self.content_taps or defaults["content"])
        self.predictor_taps = tuple(self.predictor_taps or defaults["predictor"])
        self.encoder_tap = self.encoder_tap or defaults["encoder"][0]
        self.channels = tuple(self.channels)  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CinConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known})


# ---------------------------------------------------------------- transformer with CIN
class CondInstanceNorm(nn.Module):
    """Instance norm without its own affine: γ, β come from outside (one pair per channel per image)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        x = F.instance_norm(x, eps=1e-5)
        return x * gamma[:, :, None, None] + beta[:, :, None, None]


class ConvCIN(nn.Module):
    """Reflection-padded conv (optionally after a nearest ×2 upsampling, which avoids checkerboard artefacts
    of transposed convs, Odena et al.) → CIN → optional ReLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, up: bool = False, relu: bool = True) -> None:
        super().__init__()
        self.up, self.relu = up, relu
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv = nn.Conv2d(cin, cout, k, stride)
        self.norm = CondInstanceNorm(cout)

    def forward(self, x: torch.Tensor, params: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        gamma, beta = params.pop(0)
        x = self.norm(self.conv(self.pad(x)), gamma, beta)
        return F.relu(x) if self.relu else x


class ResidualCIN(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.a = ConvCIN(ch, ch, 3)
        self.b = ConvCIN(ch, ch, 3, relu=False)

    def forward(self, x: torch.Tensor, params: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        return x + self.b(self.a(x, params), params)


class StyleTransformer(nn.Module):
    """Johnson et al.'s image transformer (3 convs down, residual blocks, 2 up + output conv), every norm a CIN.

    Kept small (16/32/64 channels, 3 residual blocks by default) so that it trains on a CPU at 128 px.
    """

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64), n_residual: int = 3) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.layers = nn.ModuleList(
            [ConvCIN(3, c1, 9), ConvCIN(c1, c2, 3, stride=2), ConvCIN(c2, c3, 3, stride=2)]
            + [ResidualCIN(c3) for _ in range(n_residual)]
            + [ConvCIN(c3, c2, 3, up=True), ConvCIN(c2, c1, 3, up=True), ConvCIN(c1, 3, 9, relu=False)]
        )
        self.norm_channels = [m.channels for m in self.modules() if isinstance(m, CondInstanceNorm)]

    @property
    def n_params(self) -> int:
        """Length of the γβ vector: a γ and a β per channel of every CIN layer."""
        return 2 * sum(self.norm_channels)

    def split(self, gb: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(n, n_params) → per CIN layer (γ, β), in forward order."""
        out, i = [], 0
        for c in self.norm_channels:
            out.append((gb[:, i : i + c], gb[:, i + c : i + 2 * c]))
            i += 2 * c
        return out

    def forward(self, x: torch.Tensor, gb: torch.Tensor) -> torch.Tensor:
        """x: (n, 3, H, W) in [0, 1] (H, W multiples of 4); gb: (n, n_params). Returns (n, 3, H, W) in [0, 1]."""
        params = self.split(gb)
        for layer in self.layers:
            x = layer(x, params)
        return torch.sigmoid(x)


def conv_block(cin: int, cout: int, k: int, stride: int = 1, up: bool = False, norm: bool = True,
               relu: bool = True) -> nn.Sequential:
    """The plain counterpart of `ConvCIN` (instance norm with its own affine, or none), for the networks whose
    style lives elsewhere: StyleBank's encoder, banks and decoder, AdaIN's decoder."""
    layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")] if up else []
    layers += [nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride)]
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def render_frame(content: np.ndarray, device: torch.device | str, multiple: int,
                 net: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
    """Run `net` ((1, 3, H', W') in [0, 1] → same) on a (H, W, 3) uint8 frame reflection-padded to a multiple of
    `multiple` (the network's total stride), and return the crop back to (H, W, 3) uint8."""
    h, w = content.shape[:2]
    c = frames_to_tensor(content[None], device)
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        c = F.pad(c, (0, pw, 0, ph), mode="reflect")
    y = net(c)[..., :h, :w]
    return (y[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().cpu().numpy()


# ---------------------------------------------------------------- style prediction network P
class BackboneTaps(nn.Module):
    """The frozen backbone cut at the given taps, with its own input normalisation; never trained."""

    def __init__(self, backbone: LoadedBackbone, taps: tuple[str, ...]) -> None:
        super().__init__()
        spec = backbone.spec
        self.taps = taps
        self.model = backbone.tap_model(taps).eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(spec.weights.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.weights.std).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> BackboneTaps:  # batch norms stay in eval mode: the trunk is frozen
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (n, 3, H, W) in [0, 1]."""
        return self.model((x - self.mean) / self.std)


def channel_stats(f: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) → (n, 2C): per-channel mean and std over space (the instance-norm statistics)."""
    flat = f.flatten(2)
    return torch.cat([flat.mean(2), (flat.var(2, unbiased=False) + 1e-6).sqrt()], dim=1)


class PredictorHead(nn.Module):
    """The trained part of P: tap maps → bottleneck (the embedding) → γ, β for every CIN layer."""

    def __init__(self, tap_channels: dict[str, int], norm_channels: list[int], bottleneck: int = 100,
                 proj: int = 32) -> None:
        super().__init__()
        self.taps = tuple(tap_channels)
        self.proj = nn.ModuleDict({t: nn.Conv2d(c, proj, 1) for t, c in tap_channels.items()})
        d_in = sum(2 * c + 2 * proj for c in tap_channels.values())
        self.norm = nn.LayerNorm(d_in)
        self.mlp = nn.Sequential(nn.Linear(d_in, 256), nn.ReLU(inplace=True), nn.Linear(256, bottleneck))
        n_params = 2 * sum(norm_channels)
        self.to_params = nn.Linear(bottleneck, n_params)
        # Start near the identity CIN (γ = 1, β = 0) so early training is a plain autoencoder, as in Dumoulin.
        nn.init.normal_(self.to_params.weight, std=0.01)
        nn.init.zeros_(self.to_params.bias)
        offset, i = torch.zeros(n_params), 0
        for c in norm_channels:  # layout per layer: [γ_l, β_l]
            offset[i : i + c] = 1.0
            i += 2 * c
        self.register_buffer("gamma_offset", offset, persistent=False)

    def bottleneck(self, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        pooled = []
        for t in self.taps:
            f = taps[t]
            pooled += [channel_stats(f), channel_stats(F.relu(self.proj[t](f)))]
        return self.mlp(self.norm(torch.cat(pooled, dim=1)))

    def params(self, z: torch.Tensor) -> torch.Tensor:
        """Bottleneck (n, d) → γβ (n, n_params): γ = 1 + Δγ, β = Δβ."""
        return self.to_params(z) + self.gamma_offset


class CinModel(nn.Module):
    """Transformer + P (frozen trunk + trained head). `embed` gives the style vector, `stylize` the picture."""

    def __init__(self, config: CinConfig, backbone: LoadedBackbone) -> None:
        super().__init__()
        if backbone.spec.name != config.backbone:
            raise ConfigError(f"CIN config is for backbone {config.backbone}, got {backbone.spec.name}")
        self.config = config
        self.backbone_sha256 = backbone.weights_sha256
        self.transformer = StyleTransformer(config.channels, config.n_residual)
        # Two cuts of the same frozen backbone: style images only need the low/middle taps (P and the Gram
        # targets), while the rendered and content images also need the deeper content taps.
        self.style_trunk = BackboneTaps(backbone, tuple(dict.fromkeys(config.predictor_taps + config.style_taps)))
        self.loss_trunk = BackboneTaps(backbone, tuple(dict.fromkeys(config.style_taps + config.content_taps)))
        probe = self.style_trunk(torch.zeros(1, 3, 64, 64))
        self.head = PredictorHead({t: probe[t].shape[1] for t in config.predictor_taps},
                                  self.transformer.norm_channels, config.bottleneck, config.proj_channels)

    def trained_state(self) -> dict[str, dict[str, torch.Tensor]]:
        """Only the trained weights: the frozen trunk comes from the backbone's own weights file."""
        return {"transformer": self.transformer.state_dict(), "head": self.head.state_dict()}

    def load_trained_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        self.transformer.load_state_dict(state["transformer"])
        self.head.load_state_dict(state["head"])

    def style_input(self, x: torch.Tensor) -> torch.Tensor:
        s = self.config.style_size
        if x.shape[-2:] != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
        return x

    def bottleneck(self, style: torch.Tensor) -> torch.Tensor:
        """Raw (unnormalised) bottleneck for style images (n, 3, H, W) in [0, 1]."""
        with torch.no_grad():
            taps = self.style_trunk(self.style_input(style))
        return self.head.bottleneck(taps)

    @torch.inference_mode()
    def embed(self, frames: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """frames (n, S, S, 3) uint8 RGB → (n, bottleneck) float32, L2-normalised per frame."""
        self.eval()
        device = next(self.head.parameters()).device
        out = []
        for i in range(0, len(frames), batch_size):
            z = self.bottleneck(frames_to_tensor(frames[i : i + batch_size], device))
            out.append(F.normalize(z, dim=1, eps=1e-12).cpu().numpy().astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, self.config.bottleneck), np.float32)

    @torch.inference_mode()
    def stylize(self, content: np.ndarray, style_frames: np.ndarray) -> np.ndarray:
        """Render content (H, W, 3) uint8 with the style predicted from style_frames (n, S, S, 3) uint8.

        The style is the mean of the frames' raw bottlenecks (a video's look, not one frame's).
        """
        self.eval()
        device = next(self.head.parameters()).device
        z = self.bottleneck(frames_to_tensor(style_frames, device)).mean(0, keepdim=True)
        gb = self.head.params(z)
        return render_frame(content, device, 4, lambda c: self.transformer(c, gb))
