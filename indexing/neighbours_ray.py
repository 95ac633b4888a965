"""`vidstyle neighbours --engine ray`: the neighbour table's searches spread over Ray workers.

The job is the local engine's (`vidstyle.indexing.neighbours`): planned by `plan_table` (the sorted ids cut into
parts, the parts an earlier run left), each part's rows made by the same search, published by the driver one
part at a time (temp, fsync, rename) and joined at the end. Only where the searches run differs: a pool of
actors, each loading INDEX_DIR itself, read-only, once, then searching the parts the driver hands it, a few at a
time so that no actor waits. A kill of the driver loses the parts in flight only; the rerun, by either engine,
searches what is missing.

Each actor checks that the index it loaded holds exactly the driver's videos (the sha256 of the sorted ids): an
index changed between the driver's load and an actor's (a save by the service, another node's stale copy) would
otherwise put rows of two different indexes in one table.

Ray comes from `vidstyle.embedder.ray_engine.ray_session`: a local instance sized to the machine, or the cluster
at `--address`, as for `embed --engine ray`.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from tqdm import tqdm

from vidstyle.core.errors import VidstyleError
from vidstyle.core.settings import IndexSettings
from vidstyle.indexing.index_set import IndexSet
from vidstyle.indexing.neighbours import NeighboursSummary, TableJob, ids_digest, plan_table
from vidstyle.indexing.recommend import Blend

if TYPE_CHECKING:
    from types import ModuleType

IN_FLIGHT_PER_WORKER = 2  # parts queued per actor: one searching, one waiting, so no actor idles between parts


class IndexChangedError(VidstyleError, RuntimeError):
    """A worker loaded an INDEX_DIR whose videos differ from the driver's."""


class ShardSearcher:
    """A Ray actor: INDEX_DIR loaded once, read-only, then the rows of the parts it is handed.

    A failure the user can fix (an unreadable or changed index) comes back to the driver as data, the error in
    place of the rows, and the driver raises it: Ray reports a failed constructor as text only, so the command
    could not give its one-line reason.
    """

    def __init__(self, index_dir: str, settings: IndexSettings, job: TableJob, ids_sha256: str) -> None:
        self.job = job
        self.error: VidstyleError | None = None
        try:
            self.index = IndexSet.load(Path(index_dir), settings)
        except VidstyleError as exc:
            self.error = exc
            return
        if ids_digest(sorted(self.index.video_ids())) != ids_sha256:
            self.error = IndexChangedError(
                f"the index in {index_dir} changed while the neighbours job started (a worker loaded other videos "
                "than the driver); rerun it when nothing writes to INDEX_DIR"
            )

    def rows(self, video_ids: list[str]) -> pa.Table | VidstyleError:
        """The part's rows, or the reason this worker cannot give them (raised on the driver)."""
        if self.error is not None:
            return self.error
        return self.job.rows(self.index, video_ids)


def write_neighbours_ray(
    index_dir: Path,
    settings: IndexSettings,
    space: str,
    k: int,
    out: Path,
    *,
    blend: Blend | None = None,
    chunk: int = 1024,
    progress: bool = True,
    address: str | None = None,
    workers: int | None = None,
) -> NeighboursSummary:
    """The table of `vidstyle.indexing.neighbours.write_neighbours`, its parts searched by Ray actors."""
    from vidstyle.embedder.ray_engine import ray_session

    index = IndexSet.load(Path(index_dir), settings)
    job = plan_table(index, space, k, out, blend=blend, chunk=chunk)
    digest = ids_digest(job.ids)
    del index  # the driver needs the ids only; the actors hold the index
    todo = job.todo()
    reused = len(job.parts()) - len(todo)
    with tqdm(total=len(job.ids), unit="video", desc=f"neighbours ({space}, ray)", disable=not progress) as bar:
        bar.update(len(job.ids) - sum(len(batch) for _, batch in todo))
        if todo:
            with ray_session(address) as ray:
                run_parts(ray, job, todo, str(Path(index_dir).resolve()), settings, digest, workers, bar)
    return job.finish(reused)


def run_parts(ray: ModuleType, job: TableJob, todo: list[tuple[Path, list[str]]], index_dir: str,
              settings: IndexSettings, digest: str, workers: int | None, bar: tqdm) -> None:
    """Search `todo`'s parts on actors of the Ray session `ray` and publish each as it comes back."""
    n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    n = min(n, len(todo))
    searcher = ray.remote(num_cpus=1)(ShardSearcher)
    actors = [searcher.remote(index_dir, settings, job, digest) for _ in range(n)]
    queue = deque(todo)
    pending: dict[Any, tuple[Path, list[str], Any]] = {}

    def submit(actor: Any) -> None:
        part, batch = queue.popleft()
        pending[actor.rows.remote(batch)] = (part, batch, actor)

    try:
        for actor in actors:
            for _ in range(IN_FLIGHT_PER_WORKER):
                if queue:
                    submit(actor)
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            part, batch, actor = pending.pop(ref)
            table = ray.get(ref)
            if isinstance(table, VidstyleError):
                raise table
            job.publish(part, table)
            bar.update(len(batch))
            if queue:
                submit(actor)
    finally:
        for actor in actors:
            ray.kill(actor)
