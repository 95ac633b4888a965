"""Training and stylisation inputs: every frame of a folder of images and videos, decoded like `vidstyle embed`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from vidstyle.core.settings import Settings
from vidstyle.media.decode_pool import DecodeJob, DecodePool
from vidstyle.media.sources import SourceError, list_media


def load_frames(source: Path, size: int, settings: Settings, what: str) -> np.ndarray:
    """All frames (images; keyframes of videos) of `source` as (n, size, size, 3) uint8, in a stable order."""
    return np.concatenate([frames for _, frames in _decode(source, size, settings, what)])


def load_middle_frames(source: Path, size: int, settings: Settings,
                       what: str = "style") -> tuple[np.ndarray, list[str]]:
    """One style per file of `source` (its middle keyframe), as (n, size, size, 3) uint8, and the files' names.

    A style set for the N-style models (CIN, StyleBank, Johnson's single style): each file is one look, whatever
    its length; and the inputs of `stylize-compare`.
    """
    decoded = _decode(source, size, settings, what)
    return np.stack([frames[len(frames) // 2] for _, frames in decoded]), [path.stem for path, _ in decoded]


def _decode(source: Path, size: int, settings: Settings, what: str) -> list[tuple[Path, np.ndarray]]:
    """(path, frames) of every decodable file of `source`, in `list_media`'s order.

    Decoding runs in the isolated decode workers `vidstyle embed` uses (timeouts, memory cap); files that fail
    are skipped with a warning rather than stopping a training run.
    """
    items = list_media(source)
    if not items:
        raise SourceError(f"no images or videos found in {what} source {source}")
    pool = DecodePool.from_settings(settings.decode, size, workers=min(settings.decode.workers, len(items)),
                                    thumbnail_px=16)
    got: dict[str, np.ndarray] = {}
    failed: list[str] = []
    with pool:
        for job, res in pool.imap_unordered(DecodeJob(str(i), it.path) for i, it in enumerate(items)):
            if isinstance(res, str):
                failed.append(f"{items[int(job.key)].path}: {res}")
            else:
                got[job.key] = res.frames
    for reason in failed[:5]:
        tqdm.write(f"warning: skipped {reason}")
    if not got:
        raise SourceError(f"none of the {len(items)} files of {what} source {source} could be decoded")
    return [(Path(it.path), got[str(i)]) for i, it in enumerate(items) if str(i) in got]
