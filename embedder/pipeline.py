"""`vidstyle embed`: a catalogue (folder or manifest) → EMB_DIR, resumable, with decode overlapped with inference.

Decode workers (separate processes) keep decoding the next videos while this process runs the backbone on
batches of frames gathered across videos. Finished rows are flushed as Parquet parts every
`embed.part_rows` videos, so an interruption loses at most one part's worth of work, and never duplicates.

A rerun embeds only what EMB_DIR lacks: a video is done when its id is there, or when its file (same resolved
path) is there under another id, which it then keeps. Failed rows count as done unless `retry_failed`. When
nothing is left to do and EMB_DIR records the same model settings, the model is never loaded.

The job has two engines that share everything but where decoding and inference run: this module's `embed`
(decode workers beside this process's model) and `vidstyle.embedder.ray_engine` (Ray Data). Both start from
`plan_job` (the listing, the resume rules), turn decode results into rows with `embed_results`, and publish
them through a `PartWriter` (the fingerprint check, the recorded settings, the parts), so the two write the
same dataset by construction rather than by keeping two copies in step.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from vidstyle.core import storage
from vidstyle.core.settings import Settings
from vidstyle.embedder import copy_background, copy_descriptor, dataset
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
    """The EMB_DIR row of a video embedded by model `model` (dataset.schema's columns).

    The copy descriptors are made here, from the decoded keyframes, so every engine and the service's uploads
    store them alike; they need no model (`vidstyle.embedder.copy_descriptor`). So is the video's background
    score (`vidstyle.embedder.copy_background`: 90 matches, about 0.1 s), too slow for a `recommend` request.
    """
    descriptors = copy_descriptor.describe(decoded.frames)
    background = copy_background.packaged()
    return {
        "video_id": src.video_id, "path": str(src.path), "status": "ok", "error": None,
        "n_frames": len(decoded.frames), "frame_times": [float(t) for t in decoded.times],
        "thumbnails": decoded.thumbnails, "model": model, **vectors,
        dataset.COPY_COLUMN: descriptors,
        dataset.COPY_BACKGROUND_COLUMN: copy_background.background_score(descriptors, background),
        dataset.COPY_BACKGROUND_SHA256: background.sha256,
    }


def failed_row(src: VideoSource, reason: str, model: str) -> dict[str, Any]:
    """The EMB_DIR row of a video that could not be embedded: kept, so a rerun skips it and the reason is kept."""
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

    def line(self, out: storage.Location) -> str:
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
_RUNTIME_FIELDS = frozenset({"device", "batch_size", "weights_path", "preprocess"})


def _recorded_model_is(out_dir: storage.Location, settings: Settings) -> bool:
    """Whether EMB_DIR records exactly this model, so a rerun with nothing to do need not load it to compare
    fingerprints (the weights' checksum is part of the fingerprint, their path is not)."""
    recorded = (dataset.recorded_settings(out_dir) or {}).get("model")
    if recorded is None:
        return False
    current = settings.model.model_dump(mode="json")
    return all(recorded.get(k) == v for k, v in current.items() if k not in _RUNTIME_FIELDS)


@dataclass
class EmbedJob:
    """One run of `vidstyle embed`, planned before any engine starts: what is left to embed, under which ids.

    Both engines take it from `plan_job`, so the listing and the resume rules are decided in one place.
    """

    source: storage.Location  # a local path or an object-store URL, as is out_dir
    out_dir: storage.Location
    settings: Settings
    include_images: bool
    todo: list[VideoSource]  # under the ids they are stored with
    retry: list[str]  # ids of failed rows that this run replaces
    summary: EmbedSummary
    needs_model: bool  # False: nothing to embed and EMB_DIR records this model, so no model need be loaded
    started: float = field(default_factory=time.monotonic)

    def finish(self) -> EmbedSummary:
        """The summary, with the run's time so far (the frames/s of the summary line)."""
        self.summary.seconds = time.monotonic() - self.started
        return self.summary


def plan_job(source: storage.Location, out_dir: storage.Location, settings: Settings, include_images: bool = False,
             retry_failed: bool = False) -> EmbedJob:
    """List SOURCE once and decide, against what `out_dir` holds, what this run embeds (module docstring)."""
    started = time.monotonic()
    source, out_dir = storage.location(source), storage.location(out_dir)
    listing = scan(source, include_images)
    if not listing.sources:
        left = f"; {listing.skipped_line()}" if listing.skipped else ""
        hint = "" if include_images else " (images count only with --include-images)"
        raise SourceError(f"SOURCE {source} holds no videos{hint}{left}")
    dataset.prepare(out_dir)
    plan = _plan(listing.sources, dataset.existing(out_dir), retry_failed)
    summary = EmbedSummary(skipped=plan.skipped, not_videos=listing.skipped_line(), retried=len(plan.retry))
    needs_model = bool(plan.todo) or not _recorded_model_is(out_dir, settings)
    return EmbedJob(source, out_dir, settings, include_images, plan.todo, plan.retry, summary, needs_model, started)


def embed_results(embedder: Embedder, results: list[tuple[VideoSource, Decoded | str]]) -> list[dict[str, Any]]:
    """The rows of a batch of decode results: the decoded videos through the model together, the failures as
    failed rows with their reasons. Each engine runs this wherever its model lives."""
    good = [(src, res) for src, res in results if not isinstance(res, str)]
    vectors = embedder.vectors([res for _, res in good])
    rows = [ok_row(src, res, vec, embedder.fingerprint) for (src, res), vec in zip(good, vectors)]
    rows += [failed_row(src, res, embedder.fingerprint) for src, res in results if isinstance(res, str)]
    return rows


class PartWriter:
    """Publishes a job's rows to EMB_DIR in parts of `embed.part_rows` rows, counting them into its summary.

    `open` is what makes EMB_DIR this model's, before the first part: the fingerprint check (a dataset never
    mixes models), the recorded settings, then the removal of the failed rows this run retries (a crash right
    after leaves them missing, so redone by the next run, never doubled). An engine whose model runs elsewhere
    opens it with the fingerprint its first rows come back with. Leaving the `with` block, on success, error or
    Ctrl-C alike, flushes the finished rows, so an interruption loses only what was never flushed.
    """

    def __init__(self, job: EmbedJob, progress: bool = True) -> None:
        self.job = job
        self.progress = progress
        self.fingerprint: str | None = None
        self._dims: dict[str, int] = {}
        self._rows: list[dict[str, Any]] = []
        self._bar: tqdm | None = None

    def open(self, fingerprint: str, dims: dict[str, int]) -> None:
        out_dir, settings = self.job.out_dir, self.job.settings
        dataset.check_fingerprint(out_dir, fingerprint)
        dataset.record_settings(out_dir, fingerprint, {
            "model": settings.model.model_dump(mode="json"),
            "decode": settings.decode.model_dump(mode="json", include={"max_frames", "min_gap_s"}),
        })
        dataset.remove_rows(out_dir, self.job.retry)
        self.fingerprint, self._dims = fingerprint, dict(dims)
        self._bar = tqdm(total=len(self.job.todo), unit="video", disable=not self.progress, desc="embed",
                         dynamic_ncols=True)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Take finished rows; publishes a part whenever `embed.part_rows` of them are waiting."""
        if self.fingerprint is None:
            raise RuntimeError("PartWriter.add before open")
        summary = self.job.summary
        for row in rows:
            if row["model"] != self.fingerprint:
                raise dataset.DatasetError(
                    f"video {row['video_id']!r} was embedded by model {row['model']}, the rest of this job by "
                    f"{self.fingerprint}; every worker must have the same weights and config"
                )
            if row["status"] == "ok":
                summary.ok += 1
                summary.frames += row["n_frames"]
            else:
                summary.failed += 1
        self._rows.extend(rows)
        if self._bar is not None:
            self._bar.update(len(rows))
            elapsed = time.monotonic() - self.job.started
            self._bar.set_postfix(frames_s=f"{summary.frames / elapsed:.1f}", failed=summary.failed)
        if len(self._rows) >= self.job.settings.embed.part_rows:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            dataset.write_part(self.job.out_dir, self._rows, self._dims)
            self._rows.clear()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # On Ctrl-C or an error too: keep what is finished; the rerun picks up the rest.
        try:
            self.flush()
        finally:
            if self._bar is not None:
                self._bar.close()
            self.job.finish()


def embed(source: storage.Location, out_dir: storage.Location, settings: Settings, workers: int | None = None,
          progress: bool = True, embedder: Embedder | None = None, include_images: bool = False,
          retry_failed: bool = False) -> EmbedSummary:
    """Embed every video of `source` not yet in `out_dir`; returns counts for the summary line."""
    job = plan_job(source, out_dir, settings, include_images, retry_failed)
    if not job.needs_model:
        return job.finish()
    return run_local(job, workers=workers, progress=progress, embedder=embedder)


def run_local(job: EmbedJob, workers: int | None = None, progress: bool = True,
              embedder: Embedder | None = None) -> EmbedSummary:
    """The local engine: decode workers beside this process's model, batches of ≥ `model.batch_size` frames."""
    if embedder is None:
        from vidstyle.embedder.model import Embedder

        embedder = Embedder(job.settings)
    by_key = {s.video_id: s for s in job.todo}
    with PartWriter(job, progress) as writer:
        writer.open(embedder.fingerprint, embedder.dims)
        if job.todo:
            with embedder.make_pool(workers, allow_images=job.include_images) as pool:
                jobs = (DecodeJob(s.video_id, s.path) for s in job.todo)
                for batch in gather_batches(pool.imap_unordered(jobs), job.settings.model.batch_size):
                    writer.add(embed_results(embedder, [(by_key[j.key], res) for j, res in batch]))
    return job.summary
