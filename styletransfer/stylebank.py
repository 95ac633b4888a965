"""StyleBank (Chen et al., "StyleBank: An Explicit Representation for Neural Image Style Transfer"): method
`stylebank`.

A shared encoder E and decoder D (an auto-encoder for content) and, between them, one bank of filters K_s per
style: image → E → K_s → D renders style s, image → E → D reconstructs the image. Training alternates T steps of
the stylising branch (perceptual loss; E, K, D updated) with one step of the reconstruction branch (pixel MSE;
E and D updated), so E and D stay a content auto-encoder and the style lives in the banks. Because of that split:

- a new style is learned by training one new bank with E and D frozen (`train-style --add-style`), which costs
  one bank's gradients, not the whole network's, and leaves every other style untouched;
- regions of one image can take different styles: each bank filters the same feature map, and a mask mixes the
  filtered maps before D (region-wise fusion, `stylize --mask`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidstyle.backbones import LoadedBackbone
from vidstyle.core.settings import ConfigError
from vidstyle.styletransfer.known_styles import KnownStyles, key_dim
from vidstyle.styletransfer.losses import Losses, LossNet, loss_scales
from vidstyle.styletransfer.model import CinConfig, conv_block, render_frame


class StyleBankModel(nn.Module):
    def __init__(self, config: CinConfig, backbone: LoadedBackbone) -> None:
        super().__init__()
        if config.n_styles < 1:
            raise ConfigError(f"stylebank needs at least one style (n_styles={config.n_styles})")
        self.config = config
        self.backbone_sha256 = backbone.weights_sha256
        c1, c2, c3 = config.channels
        self.encoder = nn.Sequential(conv_block(3, c1, 9), conv_block(c1, c2, 3, 2), conv_block(c2, c3, 3, 2))
        self.banks = nn.ModuleList(self._bank() for _ in range(config.n_styles))
        self.decoder = nn.Sequential(conv_block(c3, c2, 3, up=True), conv_block(c2, c1, 3, up=True),
                                     conv_block(c1, 3, 9, norm=False, relu=False))
        self.loss_net = LossNet(config, backbone)
        self.styles = KnownStyles(config.n_styles, key_dim(self.loss_net))
        self._freeze()

    def _bank(self) -> nn.Module:
        c3 = self.config.channels[2]
        return conv_block(c3, c3, 3)

    def _freeze(self) -> None:
        """In an --add-style run only the new banks learn: E, D and the old banks get no gradients at all."""
        frozen = self.config.frozen_styles
        for module in (self.encoder, self.decoder, *self.banks[:frozen]):
            module.requires_grad_(not frozen)

    def trained_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"encoder": self.encoder.state_dict(), "banks": self.banks.state_dict(),
                "decoder": self.decoder.state_dict(), "styles": self.styles.state_dict()}

    def load_trained_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        for name in ("encoder", "banks", "decoder", "styles"):
            getattr(self, name).load_state_dict(state[name])

    def add_style(self, frame: np.ndarray) -> int:
        """Append a new (seeded, untrained) bank for style image `frame` and freeze everything else; its index."""
        self.banks.append(self._bank().to(self.styles.keys.device))
        self.styles.append(self.loss_net, frame)
        self.config.frozen_styles = self.config.n_styles
        self.config.n_styles += 1
        self._freeze()
        return self.config.n_styles - 1

    # -- training
    def trainable(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def prepare(self, contents: np.ndarray, styles: np.ndarray, device: torch.device | str) -> dict[str, float]:
        """At the start of a fresh run: the style keys and the loss scales of the data."""
        self.styles.set(self.loss_net, styles)
        return loss_scales(self.loss_net, contents, styles, device)

    def training_losses(self, content: torch.Tensor, style: torch.Tensor, style_idx: torch.Tensor,
                        step: int) -> Losses:
        """Step `step` (0-based) of the T:1 schedule; an --add-style run only has stylising steps."""
        t = self.config.bank_t
        if not self.config.frozen_styles and step % (t + 1) == t:
            mse = F.mse_loss(self.decode(self.encoder(content)), content)
            return Losses(mse, content=float(mse.detach()), style=0.0, tv=0.0)
        c_taps, grams = self.loss_net.targets(content, style)
        feats = self.encoder(content)
        filtered = torch.cat([self.banks[int(k)](feats[i : i + 1]) for i, k in enumerate(style_idx)])
        return self.loss_net(self.decode(filtered), c_taps, grams)

    def decode(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(feats))

    # -- inference
    def render_known(self, x: torch.Tensor, style: int) -> torch.Tensor:
        """Images (n, 3, H, W) in [0, 1] (H, W multiples of 4) through bank `style`."""
        return self.decode(self.banks[self.styles.check(style)](self.encoder(x)))

    @torch.inference_mode()
    def stylize(self, content: np.ndarray, style_frames: np.ndarray, style: int | None = None,
                mask: np.ndarray | None = None, second: int | None = None) -> np.ndarray:
        """Render content (H, W, 3) uint8 through bank `style` (default: the known style nearest to
        `style_frames`); with `mask` ((H, W), 1 = `style`, 0 = `second`), the two banks' outputs are mixed on the
        feature map before decoding."""
        self.eval()
        if style is None:
            style, _ = self.styles.nearest(self.loss_net, style_frames)
        bank = self.banks[self.styles.check(style)]
        if mask is None:
            return render_frame(content, self.styles.keys.device, 4, lambda c: self.render_known(c, style))
        if second is None:
            raise ConfigError("region-wise fusion needs a second style")
        other = self.banks[self.styles.check(second)]

        def fused(c: torch.Tensor) -> torch.Tensor:
            feats = self.encoder(c)
            m = torch.as_tensor(mask, dtype=feats.dtype, device=feats.device)[None, None]
            m = F.pad(m, (0, c.shape[-1] - m.shape[-1], 0, c.shape[-2] - m.shape[-2]), mode="replicate")
            m = F.interpolate(m, size=feats.shape[-2:], mode="area")
            return self.decode(m * bank(feats) + (1 - m) * other(feats))

        return render_frame(content, self.styles.keys.device, 4, fused)
