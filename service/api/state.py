"""Shared state of one service process: the index, the catalogue, the model, the settings and the metrics.

Everything a route needs hangs off one `AppState` object stored on `app.state` and handed to routes by a
dependency: no module globals, so tests can run several apps in one process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from vidstyle.core.errors import first_line
from vidstyle.core.settings import Settings
from vidstyle.indexing.recommend import Ranked, recommend
from vidstyle.media.decode import DecodeError
from vidstyle.service.api.catalog import Catalog
from vidstyle.service.api.errors import NotFound, StartupError, Unavailable, Unprocessable, WritesDisabled
from vidstyle.service.api.metrics import Metrics
from vidstyle.service.api.stylizer import Stylizer

if TYPE_CHECKING:
    from vidstyle.embedder.pipeline import EmbeddedVideo, Embedder
    from vidstyle.indexing import IndexSet

log = logging.getLogger("vidstyle.serve")

SPACES = ("style", "content")
T = TypeVar("T")


class ModelRunner:
    """The embedding model behind one dedicated thread.

    `Embedder.embed_file` is blocking and serialised by its own lock, so one thread is all it can use; giving
    it its own executor keeps slow uploads from occupying the threads that index queries run on. The model is
    loaded on that thread too (at startup, in the background) so the server answers queries meanwhile.
    """

    def __init__(
        self,
        settings: Settings,
        expected_fingerprint: str,
        metrics: Metrics,
        factory: Callable[[Settings], Embedder] | None = None,
    ) -> None:
        self.settings = settings
        self.expected_fingerprint = expected_fingerprint
        self.metrics = metrics
        self._factory = factory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-model")
        self._embedder: Embedder | None = None
        self._error: str | None = None
        self._pending = 0

    def preload(self) -> Future[None]:
        return self._executor.submit(self._get)

    def _get(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        if self._error is not None:
            raise Unavailable(self._error)
        try:
            if self._factory is None:
                from vidstyle.embedder.pipeline import Embedder

                self._factory = Embedder
            threads = self.settings.serve.model_threads
            if threads:
                import torch

                # Leave the other cores to the index queries that run while a file is embedded.
                torch.set_num_threads(threads)
            embedder = self._factory(self.settings)
        except Exception as exc:  # noqa: BLE001 - any load failure makes uploads unavailable, with the reason
            self._error = f"model unavailable: {first_line(exc)}"
            log.error(self._error)
            raise Unavailable(self._error) from exc
        if embedder.fingerprint != self.expected_fingerprint:
            embedder.close()
            self._error = (
                f"the configured model ({embedder.fingerprint}) is not the one that built the index "
                f"({self.expected_fingerprint}); serve with the config the index was built with"
            )
            log.error(self._error)
            raise Unavailable(self._error)
        self._embedder = embedder
        log.info("model %s ready", embedder.fingerprint)
        return embedder

    def _embed(self, path: Path) -> EmbeddedVideo:
        embedder = self._get()
        t0 = time.perf_counter()
        try:
            result = embedder.embed_file(path)
        except DecodeError as exc:
            self.metrics.embed_seconds.labels("failed").observe(time.perf_counter() - t0)
            # The reason may quote the server's temp file name: of no use to the client, so left out.
            reason = str(exc).replace(f" '{path}'", "").replace(str(path), "the upload")
            raise Unprocessable(f"cannot decode the file: {reason}") from exc
        self.metrics.embed_seconds.labels("ok").observe(time.perf_counter() - t0)
        return result

    async def embed(self, path: Path) -> EmbeddedVideo:
        """Embed one file off the event loop; 503 when too many uploads already wait for the model."""
        return await self.run(self._embed, path)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Model work (an upload's embedding, a stylisation) on the model thread; 503 when too much waits."""
        if self._pending >= self.settings.serve.max_pending_embeds:
            raise Unavailable("too many requests are waiting for the model; retry shortly")
        self._pending += 1  # only touched on the event loop thread, so no lock
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None


class AppState:
    def __init__(
        self,
        settings: Settings,
        index: IndexSet,
        index_dir: Path | None = None,
        catalog: Catalog | None = None,
        embedder_factory: Callable[[Settings], Embedder] | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self.catalog = catalog
        self.metrics = Metrics(lambda: {space: len(self.index) for space in SPACES})
        self.model = ModelRunner(settings, index.fingerprint, self.metrics, embedder_factory)
        self.stylizer = Stylizer(settings)
        # Index queries run on their own small pool, as many threads as cores: FAISS releases the GIL, so
        # they use every core, and no more threads than cores keeps them from thrashing each other's caches.
        self._query_pool = ThreadPoolExecutor(
            max_workers=settings.serve.query_threads or os.cpu_count() or 1, thread_name_prefix="vidstyle-query"
        )
        # One writer at a time: a write touches the dataset, the index and its files, in that order.
        self.write_lock = threading.Lock()
        self._version = 0
        self._listing: tuple[int, list[str]] = (-1, [])

    # -- opening ---------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: Path, settings: Settings, emb_dir: Path | None = None) -> AppState:
        """Load INDEX_DIR, find and load its embeddings dataset, and bring the index in line with it."""
        from vidstyle.indexing import IndexLoadError, IndexSet

        index_dir = Path(index_dir)
        if not index_dir.is_dir():
            raise StartupError(f"INDEX_DIR {index_dir} does not exist; build it with `vidstyle index build`")
        try:
            index = IndexSet.load(index_dir, settings.index)
        except IndexLoadError as exc:
            raise StartupError(str(exc)) from exc
        # The dataset: given explicitly, else the one the index was built from (its manifest records it).
        emb_dir = (
            emb_dir or settings.serve.emb_dir or getattr(index, "emb_dir", None)
            or _manifest_emb_dir(index.manifest, index_dir)
        )
        catalog = None
        if emb_dir is None:
            log.warning("no embeddings dataset known for %s: no thumbnails, writes disabled", index_dir)
        elif not Path(emb_dir).is_dir():
            raise StartupError(f"embeddings dataset {emb_dir} does not exist (serve.emb_dir / --emb-dir)")
        else:
            catalog = Catalog(Path(emb_dir), settings.serve.cached_parts)
            catalog.load()
            if hasattr(index, "emb_dir"):
                index.emb_dir = Path(emb_dir).resolve()  # index saves record the dataset the service writes to
            others = catalog.models - {index.fingerprint}
            if others:
                raise StartupError(
                    f"embeddings dataset {emb_dir} holds model {sorted(others)[0]}, the index {index.fingerprint}"
                )
        state = cls(settings, index, index_dir, catalog)
        if catalog is not None and settings.serve.reconcile:
            state.reconcile()
        return state

    def reconcile(self) -> None:
        """Make the index hold exactly the dataset's ok videos (after a crash between the two writes)."""
        assert self.catalog is not None and self.index_dir is not None
        with self.write_lock:
            in_data, in_index = self.catalog.ids(), set(self.index.video_ids())
            if in_index and not in_data & in_index:
                raise StartupError(
                    f"embeddings dataset {self.catalog.emb_dir} shares no video with the index; "
                    "is it the dataset the index was built from? (serve.emb_dir / --emb-dir)"
                )
            extra, missing = sorted(in_index - in_data), sorted(in_data - in_index)
            if not extra and not missing:
                return
            log.warning("index differs from the dataset: adding %d, removing %d videos", len(missing), len(extra))
            if extra:
                self.index.remove(extra)
            if missing:
                columns = self.columns
                ids, by_column = self.catalog.vectors(missing, set(columns.values()))
                self.index.add(ids, {space: by_column[column] for space, column in columns.items()})
            self.index.save(self.index_dir)
            self._version += 1

    # -- queries (thread-safe; the index swaps state atomically on writes) -----------------------------------

    async def run_query(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking index query on the query pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._query_pool, fn, *args)

    def similar(self, video_id: str, space: str, k: int) -> list[tuple[str, float]]:
        from vidstyle.indexing import UnknownVideoError

        try:
            return self.index.search_id(video_id, space, k)
        except UnknownVideoError as exc:
            raise NotFound(f"unknown video_id {video_id!r}") from exc

    @property
    def columns(self) -> dict[str, str]:
        """Which dataset column (vector of `Embedder`) each index space holds, e.g. style → style_stats."""
        return dict(getattr(self.index, "columns", None) or {space: space for space in SPACES})

    def search_embedded(self, embedded: EmbeddedVideo, space: str, k: int) -> list[tuple[str, float]]:
        vector = np.asarray(embedded.vectors[self.columns[space]], np.float32)
        return self.index.search(vector.reshape(1, -1), space, k)

    def recommend(
        self, video_id: str, k: int, style_weight: float, content_weight: float, near_duplicate: float, candidates: int
    ) -> list[Ranked]:
        """Near in style, minus near-duplicates in content, re-ranked by a blend of both (docs/recommend.md)."""
        from vidstyle.indexing import UnknownVideoError

        try:
            return recommend(self.index, video_id, k, style_weight, content_weight, near_duplicate, candidates)
        except UnknownVideoError as exc:
            raise NotFound(f"unknown video_id {video_id!r}") from exc

    def list_ids(self, query: str, offset: int, limit: int) -> tuple[int, list[str]]:
        version, ids = self._listing
        if version != self._version:
            version = self._version  # read first: a write during the sort just makes the next call redo it
            ids = sorted(self.index.video_ids())
            self._listing = (version, ids)
        if query:
            needle = query.casefold()
            ids = [v for v in ids if needle in v.casefold()]
        return len(ids), ids[offset : offset + limit]

    # -- writes (blocking: run in a worker thread) -----------------------------------------------------------

    def check_writable(self) -> None:
        if self.settings.serve.workers > 1:
            raise WritesDisabled(
                "writes are disabled with serve.workers > 1 (each worker holds its own copy of the index); "
                "run the writer with one worker"
            )
        if self.catalog is None or self.index_dir is None:
            raise WritesDisabled("writes are disabled: the service has no embeddings dataset (serve.emb_dir)")

    def ingest(self, video_id: str, embedded: EmbeddedVideo, source_name: str) -> bool:
        """Persist a new or replaced video: dataset row first, then the index and its files. True if replaced."""
        from vidstyle.embedder.pipeline import VideoSource, ok_row

        self.check_writable()
        assert self.catalog is not None and self.index_dir is not None
        row = ok_row(VideoSource(video_id, Path(source_name)), embedded.decoded, embedded.vectors, embedded.fingerprint)
        dims = {name: int(np.asarray(v).shape[-1]) for name, v in embedded.vectors.items()}
        vectors = {
            space: np.asarray(embedded.vectors[column], np.float32).reshape(1, -1)
            for space, column in self.columns.items()
        }
        with self.write_lock:
            replaced = self.catalog.add(row, dims) or video_id in self.index
            self.index.add([video_id], vectors)
            self.index.save(self.index_dir)
            self._version += 1
        self.metrics.writes.labels("replace" if replaced else "add").inc()
        return replaced

    def delete(self, video_id: str) -> None:
        self.check_writable()
        assert self.catalog is not None and self.index_dir is not None
        with self.write_lock:
            if video_id not in self.index and video_id not in self.catalog:
                raise NotFound(f"unknown video_id {video_id!r}")
            self.catalog.remove(video_id)
            if video_id in self.index:
                self.index.remove([video_id])
            self.index.save(self.index_dir)
            self._version += 1
        self.metrics.writes.labels("delete").inc()

    def close(self) -> None:
        self.model.close()
        self._query_pool.shutdown(wait=False, cancel_futures=True)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32).ravel()
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _manifest_emb_dir(manifest: dict, index_dir: Path) -> Path | None:
    """The dataset the index was built from, as its manifest records it (relative paths: to INDEX_DIR)."""
    for key in ("emb_dir", "source", "embeddings"):
        value = manifest.get(key)
        if isinstance(value, str) and value:
            path = Path(value)
            return path if path.is_absolute() else (index_dir / path).resolve()
    return None

