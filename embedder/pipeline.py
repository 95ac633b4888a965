"""`vidstyle embed`: a catalogue (folder or manifest) → EMB_DIR, resumable, with decode overlapped with inference.

Decode workers (separate processes) keep decoding the next videos while this process runs the backbone on
batches of frames gathered across videos. Finished rows are flushed as Parquet parts every
`embed.part_rows` videos, so an interruption loses at most one part's worth of work, and never duplicates.

A rerun embeds only what EMB_DIR lacks: a video is done when its id is there, or when its file (same resolved
path) is there under another id, which it then keeps. Failed rows count as done unless `retry_failed`. When
nothing is left to do and EMB_DIR records the same model settings, the model is never loaded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from vidstyle.core.settings import Settings
from vidstyle.embedder import dataset
from vidstyle.media.decode import Decoded
from vidstyle.media.decode_pool import DecodeJob, DecodePool
from vidstyle.media.sources import SourceError, VideoSource, scan

if TYPE_CHECKING:
    from vidstyle.embedder.model import EmbeddedVideo, Embedder


def embed_file(path: Path, settings: Settings) -> EmbeddedVideo:
    """One-off embedding of one file (video or image) with `settings`' model (`query --file`).

    The file decodes in its worker while this process imports torch and loads the model; the two take about as
    long, so running them side by side saves most of the shorter one (bench/RESULTS.md, "CLI start-up").
    """
    with DecodePool.from_settings(settings.decode, settings.model.input_size, workers=1) as pool, \
            ThreadPoolExecutor(max_workers=1) as background:
        decoding = background.submit(lambda: list(pool.imap_unordered([DecodeJob("query", Path(path))])))
        from vidstyle.embedder.model import Embedder

        embedder = Embedder(settings)
        ((_, result),) = decoding.result()
    return embedder.embed_decoded(result)


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
    not_videos: str = ""  # the files of SOURCE left out, e.g. "2 files that are not videos (.gif 1, .txt 1)"
    retried: int = 0

    def line(self, out: Path) -> str:
        fps = self.frames / self.seconds if self.seconds else 0.0
        tail = f"; left out {self.not_videos}" if self.not_videos else ""
        retried = f", {self.retried} of them retried" if self.retried else ""
        return (f"embedded {self.ok + self.failed} videos (ok {self.ok}, failed {self.failed}{retried}, "
                f"skipped {self.skipped} already done): {self.frames} frames in {self.seconds:.1f} s "
                f"({fps:.1f} frames/s) -> {out}{tail}")


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


@dataclass
class _Plan:
    todo: list[VideoSource] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)  # ids whose failed rows are replaced
    skipped: int = 0


def _plan(sources: list[VideoSource], existing: dataset.Existing, retry_failed: bool) -> _Plan:
    """Which sources still need embedding, under which ids (a file already stored keeps its stored id)."""
    plan = _Plan()
    for src in sources:
        stored_id = existing.id_of_path.get(str(src.path), src.video_id)
        status = existing.status.get(stored_id)
        if status == "ok" or (status == "failed" and not retry_failed):
            plan.skipped += 1
            continue
        if status == "failed":
            plan.retry.append(stored_id)
        plan.todo.append(VideoSource(stored_id, src.path))
    return plan


# Model settings that change how fast vectors are made, not which: a rerun may differ in them.
_RUNTIME_FIELDS = frozenset({"device", "batch_size", "weights_path"})


def _recorded_model_is(out_dir: Path, settings: Settings) -> bool:
    """Whether EMB_DIR records exactly this model, so a rerun with nothing to do need not load it to compare
    fingerprints (the weights' checksum is part of the fingerprint, their path is not)."""
    recorded = (dataset.recorded_settings(out_dir) or {}).get("model")
    if recorded is None:
        return False
    current = settings.model.model_dump(mode="json")
    return all(recorded.get(k) == v for k, v in current.items() if k not in _RUNTIME_FIELDS)


def embed(source: Path, out_dir: Path, settings: Settings, workers: int | None = None,
          progress: bool = True, embedder: Embedder | None = None, include_images: bool = False,
          retry_failed: bool = False) -> EmbedSummary:
    """Embed every video of `source` not yet in `out_dir`; returns counts for the summary line."""
    t0 = time.monotonic()
    listing = scan(source, include_images)
    if not listing.sources:
        left = f"; {listing.skipped_line()}" if listing.skipped else ""
        hint = "" if include_images else " (images count only with --include-images)"
        raise SourceError(f"SOURCE {source} holds no videos{hint}{left}")
    dataset.prepare(out_dir)
    plan = _plan(listing.sources, dataset.existing(out_dir), retry_failed)
    summary = EmbedSummary(skipped=plan.skipped, not_videos=listing.skipped_line(), retried=len(plan.retry))
    if not plan.todo and _recorded_model_is(out_dir, settings):
        summary.seconds = time.monotonic() - t0
        return summary
    if embedder is None:
        from vidstyle.embedder.model import Embedder

        embedder = Embedder(settings)
    dataset.check_fingerprint(out_dir, embedder.fingerprint)
    dataset.record_settings(out_dir, embedder.fingerprint, {
        "model": settings.model.model_dump(mode="json"),
        "decode": settings.decode.model_dump(mode="json", include={"max_frames", "min_gap_s"}),
    })
    # Failed rows to retry go first: a crash right after leaves them missing (redone by the next run), never
    # doubled.
    dataset.remove_rows(out_dir, plan.retry)
    by_key = {s.video_id: s for s in plan.todo}
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        if rows:
            dataset.write_part(out_dir, rows, embedder.dims)
            rows.clear()

    bar = tqdm(total=len(plan.todo), unit="video", disable=not progress, desc="embed", dynamic_ncols=True)
    try:
        with embedder.make_pool(workers, allow_images=include_images) as pool:
            jobs = (DecodeJob(s.video_id, s.path) for s in plan.todo)
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
