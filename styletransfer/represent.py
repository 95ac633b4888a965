"""What an N-style model can say about a video's look: how well each of its known styles explains it.

N-style CIN (Dumoulin et al.) and StyleBank learn a fixed list of styles, so unlike Ghiasi's bottleneck they
have no vector for a look they were not trained on. What they can say is *which known style fits a video*:
render the video's frames in known style k and measure how far the rendering's look (Gram matrices at the loss
network's style taps, with the model's own training scales) moved from the frames' own look. A video already
in style k keeps its look under style k's rendering; a video far from every known style is described only by
its distances to them. Per method that gives:

- `<method>_fit`: the K errors as a profile, -(log e_k - mean log e): which known styles fit relatively better
  (the log makes the profile independent of how strongly a video's look is textured overall);
- `cin_gammabeta`: the γβ row of the best-fitting style minus the mean row, Dumoulin et al.'s embedding of the
  style that explains the video best (two videos whose best styles are near in γβ are near);
- `stylebank_bank`: the one-hot of the best-fitting bank.

Johnson's single-style network has one style and so nothing to compare; Ghiasi's `style_cin` and AdaIN's
statistics (`style_stats`) are vectors of their own and come from the embedder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.backbones import frames_to_tensor
from vidstyle.core.files import sha256_file
from vidstyle.core.settings import Settings
from vidstyle.styletransfer.checkpoint import CheckpointError, load_model
from vidstyle.styletransfer.losses import gram
from vidstyle.styletransfer.nstyle import NStyleModel
from vidstyle.styletransfer.stylebank import StyleBankModel

KNOWN_STYLE_METHODS = ("cin", "stylebank")
"""The methods whose known styles become representations (johnson has one style: nothing to compare)."""
REPRESENTATION_VERSION = 1  # bump when the vectors below change, so cached ones are recomputed


@dataclass(frozen=True)
class KnownStyleVectors:
    """One trained N-style model and the representations it gives a video's frames."""

    method: str
    model: NStyleModel | StyleBankModel
    checkpoint_sha256: str

    @property
    def names(self) -> tuple[str, ...]:
        return (f"{self.method}_fit", "cin_gammabeta" if self.method == "cin" else "stylebank_bank")

    @torch.inference_mode()
    def errors(self, frames: np.ndarray) -> np.ndarray:
        """(K,): per known style, the style loss between the frames (n, S, S, 3) uint8 rendered in that style and
        the frames themselves, averaged over frames, at the model's training size."""
        model = self.model.eval()
        cfg, net = model.config, model.loss_net
        x = frames_to_tensor(frames, model.styles.keys.device)
        side = cfg.image_size - cfg.image_size % 4
        x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        own = net.loss_trunk(x)
        n_styles = len(model.styles)
        # Every style's renders through the loss network in one batch (K x n images): fewer, larger passes.
        taps = net.loss_trunk(torch.cat([model.render_known(x, k) for k in range(n_styles)]))
        err = torch.zeros(n_styles)
        for t in cfg.style_taps:
            diff = gram(taps[t]).unflatten(0, (n_styles, len(x))) - gram(own[t])[None]
            err += diff.pow(2).flatten(2).sum(2).mean(1).cpu() / cfg.loss_scales[f"style:{t}"]  # = scaled_error
        return (err / len(cfg.style_taps)).numpy().astype(np.float64)

    def __call__(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """The method's representations of one video (its decoded frames), float32."""
        errors = self.errors(frames)
        log_err = np.log(np.maximum(errors, 1e-12))
        best = int(errors.argmin())
        fit = -(log_err - log_err.mean())
        if self.method == "cin":
            rows = self.model.gamma_beta.detach().cpu().numpy()
            chosen = rows[best] - rows.mean(axis=0)
        else:
            chosen = np.eye(len(errors))[best]
        return dict(zip(self.names, (fit.astype(np.float32), chosen.astype(np.float32))))


def known_style_models(settings: Settings) -> list[KnownStyleVectors]:
    """The configured (`stylize.checkpoints`) models of the known-style methods, loaded on the CPU."""
    out = []
    for method in KNOWN_STYLE_METHODS:
        path = settings.stylize.checkpoints.get(method)  # type: ignore[call-overload]
        if path is None:
            continue
        model = load_model(Path(path), weights_path=settings.model.weights_path)
        if model.config.method != method:
            raise CheckpointError(f"stylize.checkpoints.{method} is {path}, which holds a {model.config.method} "
                                  f"model; give a {method} checkpoint (vidstyle train-style --method {method})")
        out.append(KnownStyleVectors(method, model, sha256_file(Path(path))))  # type: ignore[arg-type]
    return out
