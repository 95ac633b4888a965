"""The known-style representations of the configured N-style models (`stylize.checkpoints`: cin, stylebank),
scored in `vidstyle eval` / `eval-retrieval` beside the embedder's vectors (`by_representation`).

They are not embedder columns: they describe a video only relative to the few looks a model was trained on
(`vidstyle.styletransfer.represent`), which is worth measuring but not worth storing in every dataset. Each file
is decoded exactly as the embedder decodes it (the baselines do the same) and its vectors are cached beside the
embedder's, keyed by the checkpoints' bytes and the decode settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vidstyle.core.settings import Settings
from vidstyle.evaluation.embedding import EmbeddingCache, FileEmbedding, file_key
from vidstyle.media.decode import decode_file
from vidstyle.styletransfer.represent import REPRESENTATION_VERSION, KnownStyleVectors, known_style_models


def _fingerprint(models: list[KnownStyleVectors], settings: Settings) -> str:
    d = settings.decode
    desc = {"models": [[m.method, m.checkpoint_sha256] for m in models], "version": REPRESENTATION_VERSION,
            "decode": [settings.model.input_size, d.max_frames, d.min_gap_s]}
    return "known-styles:" + hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]


def add_known_style_vectors(embeddings: dict[Path, FileEmbedding], settings: Settings, cache_dir: Path | None,
                            progress: bool = False) -> None:
    """Add `style_<method>_fit` and the like to every embedded file's vectors; nothing when none is configured."""
    models = known_style_models(settings)
    if not models:
        return
    cache = EmbeddingCache(cache_dir, _fingerprint(models, settings))
    d = settings.decode
    try:
        for path, emb in tqdm(embeddings.items(), disable=not progress, desc="known styles", unit="file"):
            if not emb.ok:
                continue
            key = file_key(path)
            row = cache.get(key)
            if row is None:
                frames = decode_file(path, settings.model.input_size, d.max_frames, d.min_gap_s,
                                     max_file_mb=d.max_file_mb).frames
                vectors = {name: v for m in models for name, v in m(frames).items()}
                cache.put(key, vectors, None)
            else:
                vectors = {k: np.asarray(v, np.float32) for k, v in row.items() if k != "thumbnail"}
            emb.vectors.update({f"style_{name}": v for name, v in vectors.items()})
    finally:
        cache.save()
