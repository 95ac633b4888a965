"""`vidstyle neighbours`: every indexed video's top-k neighbours as one Parquet table, for offline candidates.

Columns (docs/CONTRACT.md): `video_id` (string), `neighbour_ids` (list of strings, best first, the video itself
left out) and `scores` (list of floats, descending). `recommend` ranks exactly as the API's route does
(`vidstyle.indexing.recommend`), with the blend from `serve.*` settings.

Resumable: the videos, sorted by id, are cut into chunks; each chunk's rows are published as one part
(temp, fsync, rename) in a work folder beside the output, `.FILE.parts/`, with a `job.json` naming the index
and the request. A rerun of the same request on the same index skips the parts already there; the final table
is then written atomically and the work folder removed. A different request or index starts afresh.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from vidstyle.core.files import atomic_write, atomic_write_bytes, remove_stale_temps
from vidstyle.embedder import dataset
from vidstyle.embedder.copy_background import BackgroundScores, packaged
from vidstyle.indexing.index_set import IndexSet
from vidstyle.indexing.recommend import Blend, CopyLookups, recommend_many

SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("neighbour_ids", pa.list_(pa.string()), nullable=False),
        pa.field("scores", pa.list_(pa.float32()), nullable=False),
    ]
)
SPACES_AND_RECOMMEND = ("style", "content", "recommend")


@dataclass(frozen=True)
class NeighboursSummary:
    videos: int
    reused_parts: int
    parts: int

    def line(self, out: Path) -> str:
        reused = f", {self.reused_parts} of {self.parts} parts from an earlier run" if self.reused_parts else ""
        return f"wrote the neighbours of {self.videos} videos{reused} -> {out}"


@dataclass(frozen=True)
class TableJob:
    """One table to write, planned against the index before any search: its videos cut into parts of `chunk`
    ids, and which of those parts an earlier run of the same request already published. Both engines (this
    module's `write_neighbours`, `vidstyle.indexing.neighbours_ray`) run from it, so they write the same parts."""

    out: Path
    work: Path
    ids: list[str]
    space: str
    k: int
    blend: Blend | None
    chunk: int

    def parts(self) -> list[tuple[Path, list[str]]]:
        """Every part of the table: its file in the work folder and the ids it holds, in order."""
        return [(self.work / f"part-{n:06d}.parquet", self.ids[start : start + self.chunk])
                for n, start in enumerate(range(0, len(self.ids), self.chunk))]

    def todo(self) -> list[tuple[Path, list[str]]]:
        """The parts not yet published (a rerun of an interrupted job skips the others)."""
        return [(path, batch) for path, batch in self.parts() if not path.is_file()]

    def rows(self, index: IndexSet, video_ids: Sequence[str]) -> pa.Table:
        """The rows of `video_ids` (one part), searched in `index`."""
        return _rows(index, video_ids, self.space, self.k, self.blend)

    @staticmethod
    def publish(part: Path, table: pa.Table) -> None:
        """Write one part atomically (temp, fsync, rename): a crash leaves it whole or absent."""
        atomic_write(part, lambda tmp: pq.write_table(table, tmp, compression="zstd"))

    def finish(self, reused: int) -> NeighboursSummary:
        """Join the parts into the table (written atomically) and remove the work folder."""
        parts = [path for path, _ in self.parts()]
        table = pa.concat_tables([pq.read_table(p, schema=SCHEMA) for p in parts]) if parts else SCHEMA.empty_table()
        atomic_write(self.out, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        shutil.rmtree(self.work, ignore_errors=True)
        return NeighboursSummary(videos=len(self.ids), reused_parts=reused, parts=len(parts))


def ids_digest(ids: Sequence[str]) -> str:
    """What identifies the indexed videos: the sha256 of the sorted ids, one a line."""
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def plan_table(index: IndexSet, space: str, k: int, out: Path, *, blend: Blend | None = None,
               chunk: int = 1024) -> TableJob:
    """Check the request and prepare the work folder beside `out` (keeping an earlier run's parts of this very
    job, removing anything else), for the table of `space` ("style", "content" or "recommend", which needs
    `blend`)."""
    if space not in SPACES_AND_RECOMMEND:
        raise ValueError(f"unknown space {space!r}; expected one of {', '.join(SPACES_AND_RECOMMEND)}")
    if space == "recommend" and blend is None:
        raise ValueError("recommend needs the blend's parameters")
    out = Path(out)
    ids = sorted(index.video_ids())
    work = out.parent / f".{out.name}.parts"
    job = {
        "fingerprint": index.fingerprint,
        "videos": len(ids),
        "ids_sha256": ids_digest(ids),
        "space": space,
        "k": k,
        "chunk": chunk,
        "blend": asdict(blend) if space == "recommend" and blend else None,
    }
    _prepare(work, job)
    return TableJob(out, work, ids, space, k, blend if space == "recommend" else None, chunk)


def write_neighbours(
    index: IndexSet,
    space: str,
    k: int,
    out: Path,
    *,
    blend: Blend | None = None,
    chunk: int = 1024,
    progress: bool = True,
) -> NeighboursSummary:
    """Write the table for `space` ("style", "content" or "recommend", which needs `blend`) to `out`."""
    job = plan_table(index, space, k, out, blend=blend, chunk=chunk)
    todo = job.todo()
    reused = len(job.parts()) - len(todo)
    with tqdm(total=len(job.ids), unit="video", desc=f"neighbours ({space})", disable=not progress) as bar:
        bar.update(len(job.ids) - sum(len(batch) for _, batch in todo))
        for part, batch in todo:
            job.publish(part, _rows(index, batch, space, k, job.blend))
            bar.update(len(batch))
    return job.finish(reused)


def _prepare(work: Path, job: dict) -> None:
    """Keep the parts of an earlier run of this very job; anything else in the work folder goes."""
    record = work / "job.json"
    try:
        same = json.loads(record.read_text()) == job
    except (OSError, ValueError):
        same = False
    if not same:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(work)
    if not same:
        atomic_write_bytes(record, json.dumps(job, indent=2).encode())


def _copy_lookups(index: IndexSet, blend: Blend) -> CopyLookups | None:
    """What the API's copy check reads, from the descriptors (and background scores) stored in the dataset the index
    was built from (none known: no check, as the API without a dataset)."""
    if not blend.checks_copies or index.emb_dir is None or not Path(index.emb_dir).is_dir():
        return None
    stored = _stored_descriptors(str(index.emb_dir))

    def descriptors(ids: Sequence[str]) -> dict[str, np.ndarray | None]:
        return {v: stored.get(v) for v in ids}

    if blend.copy_background_weight == 0:
        return CopyLookups(descriptors)
    return CopyLookups(descriptors, _backgrounds(str(index.emb_dir)))


@functools.lru_cache(maxsize=1)
def _stored_descriptors(emb_dir: str) -> dict[str, np.ndarray | None]:
    """Every video's descriptors, read once per job (a few KB per video)."""
    return dataset.copy_descriptors(Path(emb_dir))


@functools.lru_cache(maxsize=1)
def _backgrounds(emb_dir: str) -> BackgroundScores:
    """Every video's background score: the stored ones against the packaged set, read once per job; the rest
    (older datasets) computed from the descriptors on first use and kept for the job."""
    stored = dataset.copy_backgrounds(Path(emb_dir), sha256=packaged().sha256)
    descriptors = _stored_descriptors(emb_dir)
    return BackgroundScores(lambda ids: {v: stored.get(v) for v in ids},
                            lambda ids: {v: descriptors.get(v) for v in ids})


def _rows(index: IndexSet, video_ids: Sequence[str], space: str, k: int, blend: Blend | None) -> pa.Table:
    if space == "recommend":
        assert blend is not None
        ranked = recommend_many(index, video_ids, k, blend, _copy_lookups(index, blend))
        lists = [[(r.video_id, r.score) for r in one] for one in ranked]
    else:
        lists = index.search_ids(video_ids, space, k)
    return pa.table(
        {
            "video_id": list(video_ids),
            "neighbour_ids": [[v for v, _ in one] for one in lists],
            "scores": [[s for _, s in one] for one in lists],
        },
        schema=SCHEMA,
    )
