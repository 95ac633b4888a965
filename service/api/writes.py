"""The service's write path: adding, replacing and deleting videos, and reconciling the index with the dataset.

Order of every write: the dataset row first (`Catalog`, the source of truth), then the index, whose write-ahead
log makes the write durable before it is acknowledged (the index files are not rewritten: a write costs the same
at any catalogue size). After a crash between the two, `reconcile()` at the next start brings the index back in
line with the dataset. One writer at a time (`lock`, and with several server processes the index's
inter-process lock, under which the dataset's entries are first refreshed from disk); searches go on meanwhile
(the index swaps its state atomically). `Compactor` folds the logged writes into the index files in the background, once
`index.compact_after` of them pile up, and at a clean shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vidstyle.core.settings import Settings
from vidstyle.service.api.catalog import Catalog
from vidstyle.service.api.errors import NotFound, StartupError, WritesDisabled
from vidstyle.service.api.metrics import Metrics

if TYPE_CHECKING:
    from vidstyle.embedder.model import EmbeddedVideo
    from vidstyle.indexing import IndexSet

log = logging.getLogger("vidstyle.serve")


class Compactor:
    """A background thread that saves the index (folding its delta and log into INDEX_DIR) when woken."""

    def __init__(self, index: IndexSet, index_dir: Path, compact_after: int) -> None:
        self.index = index
        self.index_dir = index_dir
        self.compact_after = compact_after
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vidstyle-compactor", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """After a write: wake the thread once enough writes wait to be folded."""
        if self.index.pending_writes() >= self.compact_after:
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            self._compact()

    def _compact(self) -> None:
        pending = self.index.pending_writes()
        try:
            self.index.save(self.index_dir)
            log.info("compacted %d pending writes into %s", pending, self.index_dir)
        except Exception:  # noqa: BLE001 - the writes stay in the log; the next write wakes us again
            log.exception("compaction of %s failed; the writes stay in its write-ahead log", self.index_dir)

    def close(self) -> None:
        """Stop the thread, then fold what is left, so a clean restart replays nothing."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        if self.index.pending_writes():
            self._compact()


class WritePath:
    """Writes to one catalogue: its dataset (`catalog`), its index and INDEX_DIR, or a reason they are disabled."""

    def __init__(
        self, settings: Settings, index: IndexSet, index_dir: Path | None, catalog: Catalog | None, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.index = index
        self.index_dir = index_dir
        self.catalog = catalog
        self.metrics = metrics
        self.lock = threading.Lock()
        self.shared = settings.serve.workers > 1  # other processes write the same INDEX_DIR and EMB_DIR
        writable = index_dir is not None and catalog is not None
        self.compactor = Compactor(index, index_dir, settings.index.compact_after) if writable else None

    def close(self) -> None:
        """At shutdown: fold the logged writes into the index files and close the log."""
        if self.compactor is not None:
            self.compactor.close()
        self.index.close()

    def check_writable(self) -> None:
        if self.catalog is None or self.index_dir is None:
            raise WritesDisabled("writes are disabled: the service has no embeddings dataset (serve.emb_dir)")

    def reconcile(self) -> None:
        """Make the index hold exactly the dataset's ok videos (after a crash between the two writes)."""
        assert self.catalog is not None and self.index_dir is not None
        with self._exclusive():
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
                columns = self.index.columns
                ids, by_column = self.catalog.vectors(missing, set(columns.values()))
                self.index.add(ids, {space: by_column[column] for space, column in columns.items()})
            self.index.save(self.index_dir)

    def ingest(self, video_id: str, embedded: EmbeddedVideo, source_name: str) -> bool:
        """Persist a new or replaced video: dataset row first, then the index and its files. True if replaced."""
        from vidstyle.embedder.pipeline import ok_row
        from vidstyle.media.sources import VideoSource

        self.check_writable()
        assert self.catalog is not None and self.index_dir is not None
        row = ok_row(VideoSource(video_id, Path(source_name)), embedded.decoded, embedded.vectors, embedded.fingerprint)
        dims = {name: int(np.asarray(v).shape[-1]) for name, v in embedded.vectors.items()}
        vectors = {
            space: np.asarray(embedded.vectors[column], np.float32).reshape(1, -1)
            for space, column in self.index.columns.items()
        }
        with self._exclusive():
            replaced = self.catalog.add(row, dims) or video_id in self.index
            self.index.add([video_id], vectors)  # logged and fsynced: durable from here
        self._written()
        self.metrics.writes.labels("replace" if replaced else "add").inc()
        return replaced

    def delete(self, video_id: str) -> None:
        self.check_writable()
        assert self.catalog is not None and self.index_dir is not None
        with self._exclusive():
            if video_id not in self.index and video_id not in self.catalog:
                raise NotFound(f"unknown video_id {video_id!r}")
            self.catalog.remove(video_id)
            if video_id in self.index:
                self.index.remove([video_id])
        self._written()
        self.metrics.writes.labels("delete").inc()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The one writer of the catalogue: in this process, and across processes when several share it, with
        the index and the dataset entries brought up to what the others wrote."""
        with self.lock, self.index.exclusive():
            if self.shared:
                assert self.catalog is not None
                self.catalog.refresh()
            yield

    def _written(self) -> None:
        if self.compactor is not None:
            self.compactor.poke()
