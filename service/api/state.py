"""Shared state of one service process: what is loaded (index, dataset, model, stylizer), and the reads on it.

Everything a route needs hangs off one `AppState` object stored on `app.state` and handed to routes by a
dependency: no module globals, so tests can run several apps in one process. Routes call only this class's
methods; the model thread is `model_runner.ModelRunner`, the writes `writes.WritePath`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from vidstyle.core.settings import Settings
from vidstyle.core.spaces import SPACES
from vidstyle.embedder import copy_descriptor
from vidstyle.indexing import IndexLoadError, IndexSet, UnknownVideoError
from vidstyle.indexing.recommend import Blend, CopyLookups, Ranking, recommend_explained
from vidstyle.service.api.catalog import Catalog, Media
from vidstyle.service.api.errors import NotFound, StartupError
from vidstyle.service.api.metrics import Metrics
from vidstyle.service.api.model_runner import ModelRunner
from vidstyle.service.api.stylizer import Render, Stylizer
from vidstyle.service.api.writes import WritePath

if TYPE_CHECKING:
    from vidstyle.embedder.model import EmbeddedVideo, Embedder

log = logging.getLogger("vidstyle.serve")

T = TypeVar("T")


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
        self.metrics = Metrics(lambda: {space: len(self.index) for space in SPACES})
        self.model = ModelRunner(settings, index.fingerprint, self.metrics, embedder_factory)
        self.stylizer = Stylizer(settings)
        self.writes = WritePath(settings, index, Path(index_dir) if index_dir is not None else None, catalog,
                                self.metrics)
        self._catalog = catalog
        # Index queries run on their own small pool, as many threads as cores: FAISS releases the GIL, so
        # they use every core, and no more threads than cores keeps them from thrashing each other's caches.
        # With several worker processes the processes use the cores, and a query runs on the event loop: the
        # hop to a pool thread costs more than a millisecond search (bench/RESULTS.md, "API benchmark").
        threads = settings.serve.query_threads
        if threads is None:
            threads = 0 if settings.serve.workers > 1 else os.cpu_count() or 1
        self._query_pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vidstyle-query") if threads else None
        )
        self._listing: tuple[int, list[str]] = (-1, [])
        self._catalog_version = index.version  # the index version the dataset entries were refreshed at

    # -- opening and closing ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: Path, settings: Settings, emb_dir: Path | None = None) -> AppState:
        """Load INDEX_DIR, find and load its embeddings dataset, and bring the index in line with it."""
        index_dir = Path(index_dir)
        if not index_dir.is_dir():
            raise StartupError(f"INDEX_DIR {index_dir} does not exist; build it with `vidstyle index build`")
        shared = settings.serve.workers > 1  # then every worker process serves and writes the same INDEX_DIR
        try:
            index = IndexSet.load(index_dir, settings.index, writable=not shared, shared=shared)
        except IndexLoadError as exc:
            raise StartupError(str(exc)) from exc
        # The dataset: given explicitly, else the one the index was built from (its manifest records it).
        emb_dir = emb_dir or settings.serve.emb_dir or index.emb_dir
        catalog = None
        if emb_dir is None:
            log.warning("no embeddings dataset known for %s: no thumbnails, writes disabled", index_dir)
        elif not Path(emb_dir).is_dir():
            raise StartupError(f"embeddings dataset {emb_dir} does not exist (serve.emb_dir / --emb-dir)")
        else:
            catalog = Catalog(Path(emb_dir), settings.serve.cached_parts)
            with index.exclusive():  # no other worker writes EMB_DIR while its leftovers are cleaned
                catalog.load()
            index.emb_dir = Path(emb_dir).resolve()  # index saves record the dataset the service writes to
            if catalog.outdated_parts:
                log.warning("%d part(s) of %s hold no copy descriptors of version %d: their videos get no copy "
                            "verdict in recommend; re-embed them into a new EMB_DIR", len(catalog.outdated_parts),
                            emb_dir, copy_descriptor.VERSION)
            others = catalog.models - {index.fingerprint}
            if others:
                raise StartupError(
                    f"embeddings dataset {emb_dir} holds model {sorted(others)[0]}, the index {index.fingerprint}"
                )
        state = cls(settings, index, index_dir, catalog)
        if catalog is not None and settings.serve.reconcile:
            state.writes.reconcile()
        return state

    def sync(self) -> None:
        """With several worker processes: take in what the others wrote before a request is answered (one read and
        one stat when nothing changed; the dataset's entries only after a change)."""
        if self.settings.serve.workers == 1:
            return
        self.index.sync()
        version = self.index.version
        if self._catalog is not None and version != self._catalog_version:
            self._catalog_version = version  # first: a change during the refresh makes the next request redo it
            self._catalog.refresh()

    def preload_model(self) -> None:
        """Start loading the model in the background; queries are answered meanwhile."""
        self.model.preload()

    def close(self) -> None:
        self.model.close()
        if self._query_pool is not None:
            self._query_pool.shutdown(wait=False, cancel_futures=True)
        self.writes.close()

    # -- queries (thread-safe; the index swaps state atomically on writes) -----------------------------------

    async def run_query(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking index query on the query pool, off the event loop (or on it, without a pool)."""
        if self._query_pool is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._query_pool, fn, *args)

    def similar(self, video_id: str, space: str, k: int) -> list[tuple[str, float]]:
        try:
            return self.index.search_id(video_id, space, k)
        except UnknownVideoError as exc:
            raise NotFound(f"unknown video_id {video_id!r}") from exc

    def search_embedded(self, embedded: EmbeddedVideo, space: str, k: int) -> list[tuple[str, float]]:
        vector = np.asarray(embedded.vectors[self.index.columns[space]], np.float32)
        return self.index.search(vector.reshape(1, -1), space, k)

    @property
    def copy_check_available(self) -> bool:
        """Copy checks read the keyframe descriptors stored in the embeddings dataset."""
        return self._catalog is not None

    def recommend(self, video_id: str, k: int, blend: Blend) -> Ranking:
        """Near in style, minus copies and content near-duplicates, re-ranked by a blend (docs/recommend.md); copies
        are checked when the embeddings dataset is known (`copy_check_available`)."""
        copies = None if self._catalog is None else CopyLookups(self._catalog.copy_descriptors,
                                                                 self._catalog.copy_backgrounds)
        try:
            return recommend_explained(self.index, video_id, k, blend, copies)
        except UnknownVideoError as exc:
            raise NotFound(f"unknown video_id {video_id!r}") from exc

    # -- the catalogue -----------------------------------------------------------------------------------------

    def list_videos(self, query: str, offset: int, limit: int) -> tuple[int, list[tuple[str, int | None]]]:
        """(matching total, [(video_id, n_frames or None)] of one page), ids sorted, `query` a substring."""
        version, ids = self._listing
        if version != self.index.version:
            version = self.index.version  # read first: a write during the sort just makes the next call redo it
            ids = sorted(self.index.video_ids())
            self._listing = (version, ids)
        if query:
            needle = query.casefold()
            ids = [v for v in ids if needle in v.casefold()]
        page = []
        for vid in ids[offset : offset + limit]:
            entry = self._catalog.get(vid) if self._catalog is not None else None
            page.append((vid, entry.n_frames if entry else None))
        return len(ids), page

    def media(self, video_id: str) -> Media | None:
        """A stored video's keyframe times and thumbnails (None without a dataset); NotFound if unknown."""
        if video_id not in self.index:
            raise NotFound(f"unknown video_id {video_id!r}")
        return self._catalog.media(video_id) if self._catalog is not None else None

    def thumbnail(self, video_id: str, i: int) -> bytes:
        media = self._catalog.media(video_id) if self._catalog is not None else None
        if media is None:
            raise NotFound(f"no thumbnails for video_id {video_id!r}")
        if i >= len(media.thumbnails):
            raise NotFound(f"video {video_id!r} has {len(media.thumbnails)} thumbnails; i={i} is out of range")
        return media.thumbnails[i]

    # -- model work ----------------------------------------------------------------------------------------------

    async def embed(self, path: Path) -> EmbeddedVideo:
        """Embed an uploaded file on the model thread (422 undecodable, 503 model unavailable or busy)."""
        return await self.model.embed(path)

    async def render_stylized(self, content_id: str, like_id: str, size: int, method: str = "ghiasi") -> Render:
        """`content_id`'s middle keyframe rendered by `method` in the look of `like_id` (PNG and a note)."""
        return await self.model.run(self.stylizer.render, self._catalog, content_id, like_id, size, method)

    # -- writes (blocking: run them in a worker thread) ---------------------------------------------------------

    def check_writable(self) -> None:
        self.writes.check_writable()

    def ingest(self, video_id: str, embedded: EmbeddedVideo, source_name: str) -> bool:
        return self.writes.ingest(video_id, embedded, source_name)

    def delete(self, video_id: str) -> None:
        self.writes.delete(video_id)
