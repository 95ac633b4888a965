"""The embedder's adapter over a learned style model: a CIN checkpoint's bottleneck as the `style_cin` column.

Inference only: it loads a checkpoint (`vidstyle.styletransfer.checkpoint`) and never imports training code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vidstyle.backbones import LoadedBackbone
from vidstyle.core.files import sha256_file
from vidstyle.styletransfer.checkpoint import load_cin


class CinEmbedding:
    """What `Embedder` needs from a checkpoint: per-frame `style_cin` vectors, their dims, a fingerprint tag.

    The tag carries the checkpoint's SHA-256, so embeddings from two checkpoints never mix in one dataset,
    index or evaluation cache.
    """

    def __init__(self, checkpoint: Path, backbone: LoadedBackbone, device: torch.device | str,
                 style_representation: str, batch_size: int = 32) -> None:
        self.sha256 = sha256_file(Path(checkpoint))
        self.model = load_cin(checkpoint, backbone, device=device)
        self.batch_size = batch_size
        d = self.model.config.bottleneck
        self.dims = {"style_cin": d} | ({"style": d} if style_representation == "cin" else {})
        self.fingerprint_tag = f"+cin:{self.sha256[:16]}" + (":style" if style_representation == "cin" else "")

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.model.embed(frames, self.batch_size)
