"""`vidstyle embed`: a catalogue (folder or manifest) → EMB_DIR, resumable, with decode overlapped with inference.

Decode workers (separate processes) keep decoding the next videos while this process runs the backbone on
batches of frames gathered across videos. Finished rows are flushed as Parquet parts every
`embed.part_rows` videos, so an interruption loses at most one part's worth of work, and never duplicates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vidstyle.backbones import load_backbone
from vidstyle.backbones.device import pick_device
from vidstyle.core.settings import Settings
from vidstyle.embedder import dataset
from vidstyle.embedder.features import FeatureExtractor, aggregate_frames, moving_region_weights
from vidstyle.media.decode import Decoded, DecodeError
from vidstyle.media.decode_pool import DecodeJob, DecodePool
from vidstyle.media.sources import VideoSource, list_sources


@dataclass
class EmbeddedVideo:
    fingerprint: str
    vectors: dict[str, np.ndarray]
    decoded: Decoded


class Embedder:
    """The model side of the pipeline: decoded videos → rows with vectors. One instance per process."""

    def __init__(self, settings: Settings, pretrained: bool = True) -> None:
        self.settings = settings
        m = settings.model
        backbone = load_backbone(m.backbone, m.weights_path, pretrained)
        # Learned style (vidstyle.styletransfer): a checkpoint adds `style_cin`; the extractor knows stats/gram only.
        self.cin = None
        if m.cin_checkpoint is not None:
            from vidstyle.embedder.learned_style import CinEmbedding

            self.cin = CinEmbedding(m.cin_checkpoint, backbone, pick_device(m.device), m.style_representation,
                                    m.batch_size)
        base = m.model_copy(update={"style_representation": "stats"}) if m.style_representation == "cin" else m
        self.features = FeatureExtractor(backbone, base)
        self.fingerprint = self.features.fingerprint + (self.cin.fingerprint_tag if self.cin else "")
        self.dims = self.features.dims | (self.cin.dims if self.cin else {})
        self._single_pool: DecodePool | None = None
        self._lock = threading.Lock()

    def make_pool(self, workers: int | None = None) -> DecodePool:
        return DecodePool.from_settings(self.settings.decode, self.settings.model.input_size, workers=workers)

    def vectors(self, videos: list[Decoded]) -> list[dict[str, np.ndarray]]:
        """Video vectors for each decoded video, running the backbone on all their frames in batches."""
        if not videos:
            return []
        frames = np.concatenate([v.frames for v in videos])
        weights = None
        if self.settings.model.content_mask:
            masks = [moving_region_weights(v.frames) for v in videos]
            if any(mk is not None for mk in masks):
                full = np.ones((28, 28), np.float32)
                weights = np.concatenate(
                    [np.repeat((full if mk is None else mk)[None], len(v.frames), 0) for v, mk in zip(videos, masks)]
                )
        bs = self.settings.model.batch_size
        chunks = [
            self.features(frames[i : i + bs], None if weights is None else weights[i : i + bs])
            for i in range(0, len(frames), bs)
        ]
        if self.cin is not None:
            for i, chunk in zip(range(0, len(frames), bs), chunks):
                chunk["style_cin"] = self.cin(frames[i : i + bs])
        per_frame = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        out, start = [], 0
        for v in videos:
            n = len(v.frames)
            sl = {k: a[start : start + n] for k, a in per_frame.items()}
            out.append(aggregate_frames(sl, self.settings.model.style_representation))
            start += n
        return out

    def embed_file(self, path: Path) -> EmbeddedVideo:
        """Embed one file (video or image) in an isolated decode worker; DecodeError gives the reason."""
        with self._lock:
            if self._single_pool is None:
                self._single_pool = self.make_pool(workers=1)
            ((_, result),) = list(self._single_pool.imap_unordered([DecodeJob("query", Path(path))]))
        if isinstance(result, str):
            raise DecodeError(result)
        return EmbeddedVideo(self.fingerprint, self.vectors([result])[0], result)

    def close(self) -> None:
        if self._single_pool is not None:
            self._single_pool.close()
            self._single_pool = None


def embed_file(path: Path, settings: Settings) -> EmbeddedVideo:
    """One-off embedding of a single file with the configured model (CLI `query --file`)."""
    embedder = Embedder(settings)
    try:
        return embedder.embed_file(path)
    finally:
        embedder.close()


def ok_row(src: VideoSource, decoded: Decoded, vectors: dict[str, np.ndarray], model: str) -> dict[str, Any]:
    return {
        "video_id": src.video_id, "path": str(src.path), "status": "ok", "error": None,
        "n_frames": len(decoded.frames), "frame_times": [float(t) for t in decoded.times],
        "thumbnails": decoded.thumbnails, "model": model, **vectors,
    }


def failed_row(src: VideoSource, reason: str, model: str) -> dict[str, Any]:
    return {"video_id": src.video_id, "path": str(src.path), "status": "failed", "error": reason,
            "n_frames": 0, "model": model}


@dataclass
class EmbedSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    frames: int = 0
    seconds: float = 0.0

    def line(self, out: Path) -> str:
        fps = self.frames / self.seconds if self.seconds else 0.0
        return (f"embedded {self.ok + self.failed} videos (ok {self.ok}, failed {self.failed}, "
                f"skipped {self.skipped} already done): {self.frames} frames in {self.seconds:.1f} s "
                f"({fps:.1f} frames/s) -> {out}")


def gather_batches(results: Iterator[tuple[DecodeJob, Decoded | str]], min_frames: int):
    """Group decode results so the model sees ≥ min_frames frames per call (failures pass straight through)."""
    batch: list[tuple[DecodeJob, Decoded | str]] = []
    frames = 0
    for job, res in results:
        batch.append((job, res))
        frames += 0 if isinstance(res, str) else len(res.frames)
        if frames >= min_frames:
            yield batch
            batch, frames = [], 0
    if batch:
        yield batch


def embed(source: Path, out_dir: Path, settings: Settings, workers: int | None = None,
          progress: bool = True, embedder: Embedder | None = None) -> EmbedSummary:
    """Embed every video of `source` not yet in `out_dir`; returns counts for the summary line."""
    t0 = time.monotonic()
    sources = list_sources(source)
    embedder = embedder or Embedder(settings)
    dataset.prepare(out_dir)
    done = dataset.check_fingerprint(out_dir, embedder.fingerprint)
    todo = [s for s in sources if s.video_id not in done]
    summary = EmbedSummary(skipped=len(sources) - len(todo))
    by_key = {s.video_id: s for s in todo}
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        if rows:
            dataset.write_part(out_dir, rows, embedder.dims)
            rows.clear()

    bar = tqdm(total=len(todo), unit="video", disable=not progress, desc="embed", dynamic_ncols=True)
    try:
        with embedder.make_pool(workers) as pool:
            jobs = (DecodeJob(s.video_id, s.path) for s in todo)
            for batch in gather_batches(pool.imap_unordered(jobs), settings.model.batch_size):
                good = [(job, res) for job, res in batch if not isinstance(res, str)]
                vectors = embedder.vectors([res for _, res in good])
                for (job, res), vec in zip(good, vectors):
                    rows.append(ok_row(by_key[job.key], res, vec, embedder.fingerprint))
                    summary.ok += 1
                    summary.frames += len(res.frames)
                for job, res in batch:
                    if isinstance(res, str):
                        rows.append(failed_row(by_key[job.key], res, embedder.fingerprint))
                        summary.failed += 1
                bar.update(len(batch))
                elapsed = time.monotonic() - t0
                bar.set_postfix(frames_s=f"{summary.frames / elapsed:.1f}", failed=summary.failed)
                if len(rows) >= settings.embed.part_rows:
                    flush()
    finally:
        # On Ctrl-C or an error, keep what is finished; the rerun picks up the rest.
        flush()
        bar.close()
        summary.seconds = time.monotonic() - t0
    return summary
