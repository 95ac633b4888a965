"""`vidstyle embed --engine ray`: the embed job on Ray Data, on a local Ray instance or a cluster.

The job is the local engine's (`vidstyle.embedder.pipeline`): planned by `plan_job` (one listing, the same resume
rules), rows made by `embed_results`, published on the driver by a `PartWriter` (the fingerprint check, the
recorded settings, the parts). Only where the work runs differs:

- decode: a pool of CPU actors, each holding a `DecodePool` with one spawned worker, so every video still
  decodes under the address-space cap and the wall-clock timeout, and a crashing or hanging decoder fails that
  video only, with its reason, as a failed row;
- model: an actor pool (`map_batches`) of `Embedder` holders, one per GPU with `num_gpus=1` when the cluster
  has GPUs, CPU actors otherwise;
- the driver: takes the rows as they arrive and publishes a part every `embed.part_rows` rows, so a kill -9 of
  the driver loses only the rows not yet flushed, and the rerun, planned from what EMB_DIR holds, embeds each
  video exactly once.

The driver loads no model: it opens the dataset with the fingerprint (and vector sizes) that the first rows
come back with, before writing anything, and refuses any later row of another fingerprint (a worker node with
other weights), so a dataset never mixes models.

Values cross the stages as pickled bytes in one binary column rather than as Arrow columns of their own: the
number of frames varies per video and failed rows have no vectors, which Ray converts to Arrow differently from
one 2.x version to the next; a binary column is the same in all of them.

`ray` is imported by this module only, and this module only for `--engine ray`.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vidstyle.core import storage
from vidstyle.core.errors import VidstyleError
from vidstyle.core.settings import DecodeSettings, Settings
from vidstyle.embedder.pipeline import EmbedJob, EmbedSummary, PartWriter, embed_results, plan_job, run_local
from vidstyle.media.decode import Decoded
from vidstyle.media.decode_pool import DecodeJob, DecodePool
from vidstyle.media.sources import VideoSource

if TYPE_CHECKING:
    from types import ModuleType

MAX_BLOCKS = 10_000  # input blocks: one video each up to this many, so decoded videos stream out one by one


class RayEngineError(VidstyleError, RuntimeError):
    """The Ray engine cannot run: ray is not installed, or the cluster at --address cannot be joined."""


def _import_ray() -> ModuleType:
    try:
        import ray
        import ray.data  # noqa: F401 - the engine needs Ray Data, not only Ray core
    except ImportError as exc:
        raise RayEngineError(
            f"--engine ray needs Ray Data ({exc}); install it with: python3 -m pip install 'ray[data]'"
        ) from exc
    return ray


def _version(text: str) -> tuple[int, int]:
    major, minor, *_ = (text.split(".") + ["0", "0"])[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def actor_pool_args(ray_version: str, size: int) -> dict[str, Any]:
    """The `map` / `map_batches` keyword arguments for a fixed pool of `size` actors in this Ray version.

    Ray 2.9 to 2.50 take `concurrency=N` and deprecate `compute=`; from 2.51 `concurrency` is the deprecated one,
    in favour of `compute=ActorPoolStrategy(...)`, which is also the only way before 2.9. `min_size`/`max_size`
    are understood by every 2.x `ActorPoolStrategy` (`size=` came later).
    """
    if (2, 9) <= _version(ray_version) < (2, 51):
        return {"concurrency": size}
    from ray.data import ActorPoolStrategy

    return {"compute": ActorPoolStrategy(min_size=size, max_size=size)}


def from_items_args(ray_version: str, blocks: int) -> dict[str, Any]:
    """`ray.data.from_items`'s keyword for the number of blocks: `override_num_blocks` from Ray 2.10, before
    that `parallelism` (deprecated since)."""
    return {"override_num_blocks": blocks} if _version(ray_version) >= (2, 10) else {"parallelism": blocks}


@dataclass(frozen=True)
class Layout:
    """How many actors of each stage, and what each one reserves."""

    decoders: int
    models: int
    cpus_per_actor: float
    gpus_per_model: int

    @classmethod
    def for_cluster(cls, resources: dict[str, float], workers: int | None = None) -> Layout:
        """Actors for a cluster with `resources` (`ray.cluster_resources()`); `workers` fixes the decoders.

        With GPUs: one model actor per GPU, the remaining CPUs decode. On CPUs alone the model is the slow stage
        (bench/RESULTS.md, "Embedding throughput": Lite0's model-only rate is a quarter of its decode rate, VGG19's
        a thirtieth), so a fifth of the CPUs decode and the rest run model actors. When the actors would reserve
        more CPUs than there are (a one-core machine, a large --workers), each reserves a share, so the pipeline
        is never left waiting for resources it cannot get.
        """
        cpus = max(1, int(resources.get("CPU", 1)))
        gpus = int(resources.get("GPU", 0))
        if gpus:
            models = gpus
            decoders = workers or max(1, cpus - models)
        else:
            decoders = workers or max(1, round(cpus / 5))
            models = max(1, cpus - decoders)
        per_actor = min(1.0, cpus / (decoders + models))
        return cls(decoders, models, per_actor, 1 if gpus else 0)


def machine_cpus() -> int:
    """CPUs this process may use (its affinity, e.g. a container's share), not only those the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextmanager
def ray_session(address: str | None = None) -> Iterator[ModuleType]:
    """Ray for the job: the session this process already has (left open), the cluster at `address`, or a new
    local instance sized to the machine; a session started here is shut down at the end.

    Quiet: no dashboard, workers' logs stay in the session's log files, Ray Data reports warnings only; the
    driver's progress bar and summary line are the job's output, as with the local engine.
    """
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(address="local", num_cpus=machine_cpus(), include_dashboard=False, **options)
    except ConnectionError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayEngineError(
            f"cannot join the Ray cluster at {address!r}: {reason} (is it up? `ray status` on the head says; a "
            "cluster with token authentication also needs RAY_AUTH_MODE=token and its token here)"
        ) from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _quiet_ray_data() -> None:
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False  # the driver's bar counts videos, as the local engine's does
    if hasattr(context, "enable_operator_progress_bars"):
        context.enable_operator_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # It would warn, once per process, that the progress bars just turned off are off.
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)


class DecodeStage:
    """A decode actor: one `DecodePool` worker, reused across videos until one fails (the pool then replaces it).

    The actor waits while its worker decodes, so the cap, the timeout and the crash isolation are the local
    engine's; the result (frames or the reason) leaves the actor pickled (module docstring).
    """

    def __init__(self, decode: DecodeSettings, size: int, allow_images: bool) -> None:
        self.pool = DecodePool.from_settings(decode, size, workers=1, allow_images=allow_images)

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        job = DecodeJob(str(item["video_id"]), storage.location(str(item["path"])))
        ((_, result),) = list(self.pool.imap_unordered([job]))
        return {"video_id": job.key, "path": str(job.path), "result": pickle.dumps(result, protocol=5)}

    def __del__(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.close()


class ModelStage:
    """A model actor: one `Embedder`, turning batches of decode results into rows with `embed_results`.

    A failure the user can fix (missing weights, a bad checkpoint) comes back to the driver as data, the error
    itself pickled in place of the batch's rows, and the driver raises it: Ray reports a failed constructor as
    text only, and Ray Data wraps a failed call in its own exception without the original, so either way the
    command could not give its one-line reason.
    """

    def __init__(self, settings: Settings) -> None:
        from vidstyle.embedder.model import Embedder

        self.error: VidstyleError | None = None
        try:
            self.embedder = Embedder(settings)
        except VidstyleError as exc:
            self.error = exc

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            if self.error is not None:
                raise self.error
            results: list[tuple[VideoSource, Decoded | str]] = [
                (VideoSource(str(v), storage.location(str(p))), pickle.loads(r))
                for v, p, r in zip(batch["video_id"], batch["path"], batch["result"])
            ]
            rows = embed_results(self.embedder, results)
        except VidstyleError as exc:
            return {"item": np.array([pickle.dumps(exc, protocol=5)], dtype=object)}
        dims = self.embedder.dims
        return {"item": np.array([pickle.dumps((row, dims), protocol=5) for row in rows], dtype=object)}


def videos_per_batch(settings: Settings) -> int:
    """Videos per model call: `map_batches` counts rows (videos), `model.batch_size` counts frames, and a video
    has up to `decode.max_frames` of them."""
    return max(1, math.ceil(settings.model.batch_size / settings.decode.max_frames))


def embed_ray(source: storage.Location, out_dir: storage.Location, settings: Settings, *, address: str | None = None,
              workers: int | None = None, progress: bool = True, include_images: bool = False,
              retry_failed: bool = False) -> EmbedSummary:
    """Embed every video of `source` not yet in `out_dir` on Ray; the same rows as `pipeline.embed`."""
    job = plan_job(source, out_dir, settings, include_images, retry_failed)
    if not job.needs_model:
        return job.finish()
    if not job.todo:
        # Nothing to embed, but EMB_DIR does not record this model: all that is left is the fingerprint check
        # and the record, which needs the model and no cluster.
        return run_local(job, progress=progress)
    with ray_session(address) as ray:
        return run_ray(ray, job, workers=workers, progress=progress)


def run_ray(ray: ModuleType, job: EmbedJob, workers: int | None = None, progress: bool = True) -> EmbedSummary:
    """Run a planned job's decode and model stages on the Ray session `ray`; parts are written here."""
    _quiet_ray_data()
    settings = job.settings
    layout = Layout.for_cluster(ray.cluster_resources(), workers)
    items = [{"video_id": s.video_id, "path": str(s.path)} for s in job.todo]
    data = ray.data.from_items(items, **from_items_args(ray.__version__, min(len(items), MAX_BLOCKS)))
    data = data.map(
        DecodeStage,
        fn_constructor_kwargs={"decode": settings.decode, "size": settings.model.input_size,
                               "allow_images": job.include_images},
        num_cpus=layout.cpus_per_actor,
        **actor_pool_args(ray.__version__, layout.decoders),
    )
    data = data.map_batches(
        ModelStage,
        fn_constructor_kwargs={"settings": settings},
        batch_size=videos_per_batch(settings),
        batch_format="numpy",
        num_cpus=layout.cpus_per_actor,
        num_gpus=layout.gpus_per_model,
        **actor_pool_args(ray.__version__, layout.models),
    )
    with PartWriter(job, progress) as writer:
        for item in data.iter_rows():
            payload = pickle.loads(item["item"])
            if isinstance(payload, VidstyleError):
                raise payload
            row, dims = payload
            if writer.fingerprint is None:
                writer.open(row["model"], dims)
            writer.add([row])
    return job.summary

