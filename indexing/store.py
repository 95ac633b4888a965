"""IndexSet: the style and the content index of one catalogue, their shared id table, persistence, updates.

INDEX_DIR layout, crash-safe by construction:

    INDEX_DIR/manifest.json               the one file a reader starts from; replaced atomically, last
    INDEX_DIR/data-<stamp>/style.faiss    written by faiss.write_index
    INDEX_DIR/data-<stamp>/content.faiss
    INDEX_DIR/data-<stamp>/ids.parquet    live videos: id (int64) <-> video_id (string)

`save()` writes each data file into a fresh `data-<stamp>/` directory (each one temp, fsync, rename, via
`embedder.io`), then atomically replaces `manifest.json`, which names those files with their sizes and
sha256 checksums, and only then deletes older data directories. A crash at any moment leaves either the
old manifest with its intact files or the new manifest with its complete files, never a mix. `load()`
refuses (IndexLoadError) a file whose size or checksum differs from the manifest, an unexpected model
fingerprint, and an index whose dimension differs from the manifest's.

Ids: every video gets a fresh int64 id when added (re-adding a video retires its old id), shared by both
spaces, so one table maps ids to video ids for both.

Concurrency: searches share a readers-writer lock; `add`/`remove` take it exclusively for the short time
they apply, so a search sees the state before or after an update, never between. Writers are also
serialised by a separate mutex, which lets `save()` and HNSW compaction run without blocking searches.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from vidstyle.core.files import atomic_write, atomic_write_bytes, fsync_dir, remove_stale_temps, sha256_file
from vidstyle.core.settings import IndexSettings
from vidstyle.core.spaces import SPACES
from vidstyle.embedder.dataset import read_embeddings
from vidstyle.indexing.errors import IndexLoadError, UnknownVideoError
from vidstyle.indexing.factory import IndexPlan
from vidstyle.indexing.rwlock import RWLock
from vidstyle.indexing.space import SpaceIndex

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "vidstyle-index"
FORMAT_VERSION = 1
DATA_PREFIX = "data-"


def space_columns(settings: IndexSettings) -> dict[str, str]:
    """Which EMB_DIR column each space indexes."""
    return {"style": settings.style_column, "content": settings.content_column}


def unit_rows(matrix: np.ndarray, dim: int | None = None, what: str = "vectors") -> np.ndarray:
    """A float32 copy with L2-normalised rows (inner product = cosine); refuses wrong shapes and NaN/inf."""
    matrix = np.array(matrix, dtype=np.float32, ndmin=2, copy=True)
    if matrix.ndim != 2 or (dim is not None and matrix.shape[1] != dim):
        raise ValueError(f"{what} have shape {matrix.shape}, expected (n, {dim})")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    matrix = np.ascontiguousarray(matrix)
    faiss.normalize_L2(matrix)
    return matrix


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class IndexSet:
    """Both indexes of a catalogue. Build with `from_embeddings`/`from_vectors`, or `load` a saved one."""

    def __init__(
        self,
        *,
        fingerprint: str,
        spaces: Mapping[str, SpaceIndex],
        columns: Mapping[str, str],
        id_table: Mapping[str, int],
        next_id: int,
        created_at: str,
        files: dict[str, Any] | None = None,
        saved_at: str | None = None,
        emb_dir: Path | None = None,
    ) -> None:
        self.fingerprint = fingerprint
        self.emb_dir = Path(emb_dir).resolve() if emb_dir is not None else None  # the dataset it came from
        self.columns = dict(columns)
        self.created_at = created_at
        self._spaces = dict(spaces)
        self._id_of: dict[str, int] = dict(id_table)
        self._video_of: dict[int, str] = {i: v for v, i in self._id_of.items()}
        self._next_id = next_id
        self._files = files or {}
        self._saved_at = saved_at
        self._rw = RWLock()
        self._writer = threading.Lock()

    # ----------------------------------------------------------------------------------------- build
    @classmethod
    def from_embeddings(cls, emb_dir: Path, settings: IndexSettings) -> IndexSet:
        """Build both indexes from the ok rows of EMB_DIR (DatasetError when it cannot be used)."""
        columns = space_columns(settings)
        emb = read_embeddings(Path(emb_dir), columns)
        index_set = cls.from_vectors(emb.fingerprint, emb.video_ids, emb.vectors, settings, columns=columns)
        index_set.emb_dir = Path(emb_dir).resolve()
        return index_set

    @classmethod
    def from_vectors(
        cls,
        fingerprint: str,
        video_ids: list[str],
        vectors: Mapping[str, np.ndarray],
        settings: IndexSettings,
        *,
        columns: Mapping[str, str] | None = None,
    ) -> IndexSet:
        """Build both indexes from in-memory vectors (`vectors[space]`: (n, dim), normalised here)."""
        if len(set(video_ids)) != len(video_ids):
            raise ValueError("video_ids must be unique")
        ids = np.arange(len(video_ids), dtype=np.int64)
        spaces = {}
        for space in SPACES:
            matrix = unit_rows(vectors[space], what=f"{space} vectors")
            if len(matrix) != len(ids):
                raise ValueError(f"{len(matrix)} {space} vectors for {len(ids)} video ids")
            spaces[space] = SpaceIndex.build(matrix, ids, settings, label=space)
        return cls(
            fingerprint=fingerprint,
            spaces=spaces,
            columns=columns or space_columns(settings),
            id_table=dict(zip(video_ids, ids.tolist())),
            next_id=len(ids),
            created_at=_now(),
        )

    # ------------------------------------------------------------------------------------- read side
    @property
    def dims(self) -> dict[str, int]:
        return {space: index.dim for space, index in self._spaces.items()}

    def __len__(self) -> int:
        return len(self._id_of)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._id_of

    def video_ids(self) -> list[str]:
        with self._rw.read():
            return list(self._id_of)

    def index_type(self, space: str) -> str:
        return self._space(space).kind

    def vector(self, video_id: str, space: str) -> np.ndarray:
        """The stored (unit) vector of `video_id` in `space`; decoded, so approximate, for IVF-PQ."""
        index = self._space(space)
        with self._rw.read():
            return index.reconstruct(self._int_id(video_id))

    def search(self, query: np.ndarray, space: str, k: int, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        """The `k` videos most similar to `query` in `space`, best first, as (video_id, cosine score)."""
        index = self._space(space)
        _check_k(k)
        q = unit_rows(np.asarray(query).reshape(1, -1), index.dim, what=f"{space} query")
        with self._rw.read():
            return self._search_locked(q, index, k, exclude)

    def search_id(self, video_id: str, space: str, k: int) -> list[tuple[str, float]]:
        """Neighbours of a stored video (itself left out); UnknownVideoError if it is not stored."""
        index = self._space(space)
        _check_k(k)
        with self._rw.read():
            q = unit_rows(index.reconstruct(self._int_id(video_id)), index.dim)
            return self._search_locked(q, index, k, (video_id,))

    def _search_locked(
        self, q: np.ndarray, index: SpaceIndex, k: int, exclude: Collection[str]
    ) -> list[tuple[str, float]]:
        excluded = {self._id_of[v] for v in exclude if v in self._id_of}
        fetch = min(k + len(excluded), len(self._id_of))
        if fetch <= 0:
            return []
        scores, labels = index.search(q, fetch)
        results: list[tuple[str, float]] = []
        for score, label in zip(scores[0].tolist(), labels[0].tolist()):
            if label < 0 or label in excluded:
                continue
            video = self._video_of.get(label)
            if video is None:  # an invariant, not a user error: index and table updated together
                raise RuntimeError(f"{index.plan.description}: id {label} missing from the id table")
            results.append((video, score))
            if len(results) == k:
                break
        return results

    def _space(self, space: str) -> SpaceIndex:
        try:
            return self._spaces[space]
        except KeyError:
            raise ValueError(f"unknown space {space!r}; expected one of {', '.join(SPACES)}") from None

    def _int_id(self, video_id: str) -> int:
        try:
            return self._id_of[video_id]
        except KeyError:
            raise UnknownVideoError(video_id) from None

    # ------------------------------------------------------------------------------------ write side
    def add(self, video_ids: list[str], vectors: dict[str, np.ndarray]) -> None:
        """Add videos (`vectors[space]`: (n, dims[space])); re-adding a stored id replaces its vectors."""
        video_ids = list(video_ids)
        if len(set(video_ids)) != len(video_ids):
            raise ValueError("video_ids passed to add() must be unique")
        if not all(isinstance(v, str) and v for v in video_ids):
            raise ValueError("video ids must be non-empty strings")
        unknown = set(vectors) - set(SPACES)
        if unknown:
            raise ValueError(f"unknown space(s) {sorted(unknown)}; expected {', '.join(SPACES)}")
        prepared = {}
        for space in SPACES:
            if space not in vectors:
                raise ValueError(f"add() needs vectors for every space; {space!r} missing")
            matrix = unit_rows(vectors[space], self.dims[space], what=f"{space} vectors")
            if len(matrix) != len(video_ids):
                raise ValueError(f"{len(matrix)} {space} vectors for {len(video_ids)} video ids")
            prepared[space] = matrix
        if not video_ids:
            return
        with self._writer:
            with self._rw.write():
                retired = [self._id_of[v] for v in video_ids if v in self._id_of]
                new_ids = np.arange(self._next_id, self._next_id + len(video_ids), dtype=np.int64)
                for space, index in self._spaces.items():
                    if retired:
                        index.remove(np.asarray(retired, dtype=np.int64))
                    index.add(prepared[space], new_ids)
                    index.refresh_gpu()
                for old in retired:
                    del self._video_of[old]
                for video, new in zip(video_ids, new_ids.tolist()):
                    self._id_of[video] = new
                    self._video_of[new] = video
                self._next_id += len(video_ids)
            self._compact_locked()

    def remove(self, video_ids: list[str]) -> None:
        """Remove videos; UnknownVideoError (and nothing removed) if any is not stored."""
        wanted = list(dict.fromkeys(video_ids))
        if not wanted:
            return
        with self._writer:
            with self._rw.write():
                missing = [v for v in wanted if v not in self._id_of]
                if missing:
                    raise UnknownVideoError(missing)
                ids = np.asarray([self._id_of[v] for v in wanted], dtype=np.int64)
                for index in self._spaces.values():
                    index.remove(ids)
                    index.refresh_gpu()
                for video, old in zip(wanted, ids.tolist()):
                    del self._id_of[video]
                    del self._video_of[old]
            self._compact_locked()

    def _compact_locked(self) -> None:
        """Rebuild tombstone-heavy indexes (HNSW) aside, then swap them in; caller holds the writer mutex."""
        for space, index in list(self._spaces.items()):
            if index.needs_compaction():
                fresh = index.compacted()  # searches go on against `index` meanwhile
                with self._rw.write():
                    self._spaces[space] = fresh

    # ----------------------------------------------------------------------------------- persistence
    @property
    def manifest(self) -> dict[str, Any]:
        """What save() writes to manifest.json; checksums are those of the last save or load."""
        with self._rw.read():
            return self._manifest(self._files, self._saved_at)

    def _manifest(self, files: dict[str, Any], saved_at: str | None, index_dir: Path | None = None) -> dict[str, Any]:
        emb_dir = self.emb_dir
        if emb_dir is not None and index_dir is not None:  # relative on disk: the pair can move together
            emb_dir = Path(os.path.relpath(emb_dir, index_dir.resolve()))
        spaces = {
            space: {
                "column": self.columns[space],
                "dims": index.dim,
                "index_type": index.kind,
                "description": index.plan.description,
                "reason": index.plan.reason,
                "plan": index.plan.as_dict(),
                "stored_vectors": index.ntotal,
                "tombstones": len(index.dead),
                "file": files.get(space),
            }
            for space, index in self._spaces.items()
        }
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "count": len(self._id_of),
            "next_id": self._next_id,
            "dims": self.dims,
            "index_type": {space: index.kind for space, index in self._spaces.items()},
            "spaces": spaces,
            "ids": files.get("ids"),
            "emb_dir": emb_dir.as_posix() if emb_dir is not None else None,
            "faiss_version": faiss.__version__,
            "created_at": self.created_at,
            "saved_at": saved_at,
        }

    def save(self, index_dir: Path) -> None:
        """Write both indexes, the id table and manifest.json (last) to `index_dir`; crash-safe."""
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(index_dir)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        data_dir = index_dir / f"{DATA_PREFIX}{stamp}-{uuid.uuid4().hex[:8]}"
        with self._writer:  # no update between the data files and the manifest; searches continue
            data_dir.mkdir()
            fsync_dir(index_dir)
            files: dict[str, Any] = {}
            for space, index in self._spaces.items():
                path = data_dir / f"{space}.faiss"
                atomic_write(path, lambda tmp, index=index: faiss.write_index(index.index, str(tmp)))
                files[space] = _file_entry(index_dir, path)
            ids_path = data_dir / "ids.parquet"
            table = pa.table(
                {
                    "id": pa.array(list(self._id_of.values()), pa.int64()),
                    "video_id": pa.array(list(self._id_of), pa.string()),
                }
            )
            atomic_write(ids_path, lambda tmp: pq.write_table(table, tmp))
            files["ids"] = _file_entry(index_dir, ids_path)
            saved_at = _now()
            manifest = self._manifest(files, saved_at, index_dir)
            atomic_write_bytes(index_dir / MANIFEST, json.dumps(manifest, indent=2).encode())
            self._files, self._saved_at = files, saved_at
        for old in index_dir.glob(f"{DATA_PREFIX}*"):
            if old.is_dir() and old != data_dir:
                shutil.rmtree(old, ignore_errors=True)
        log.info("saved %d videos to %s", len(self), index_dir)

    @classmethod
    def load(cls, index_dir: Path, settings: IndexSettings, expect_fingerprint: str | None = None) -> IndexSet:
        """Open a saved INDEX_DIR, verifying it first; IndexLoadError says what is wrong and what to do."""
        index_dir = Path(index_dir)
        manifest = _read_manifest(index_dir)
        try:
            fingerprint = manifest["fingerprint"]
            if expect_fingerprint is not None and fingerprint != expect_fingerprint:
                raise IndexLoadError(
                    f"{index_dir}: built from embeddings of model {fingerprint!r}, but the configured model "
                    f"is {expect_fingerprint!r}; re-embed and rebuild (`vidstyle index build`) or use the "
                    "config the index was built with"
                )
            files = {name: manifest["spaces"][name]["file"] for name in SPACES}
            files["ids"] = manifest["ids"]
            spaces = {space: _load_space(index_dir, space, manifest, settings) for space in SPACES}
            id_table = _load_id_table(index_dir, manifest["ids"])
            if len(id_table) != manifest["count"]:
                raise IndexLoadError(
                    f"{index_dir}: id table holds {len(id_table)} videos, manifest says {manifest['count']}"
                )
            for space, index in spaces.items():
                _attach_tombstones(index_dir, space, index, id_table)
            return cls(
                fingerprint=fingerprint,
                spaces=spaces,
                columns={space: manifest["spaces"][space]["column"] for space in SPACES},
                id_table=id_table,
                next_id=int(manifest["next_id"]),
                created_at=manifest["created_at"],
                files=files,
                saved_at=manifest.get("saved_at"),
                emb_dir=(index_dir / manifest["emb_dir"]) if manifest.get("emb_dir") else None,
            )
        except (KeyError, TypeError) as exc:
            raise IndexLoadError(f"{index_dir}/{MANIFEST} is malformed (missing or bad entry {exc})") from exc


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _file_entry(index_dir: Path, path: Path) -> dict[str, Any]:
    return {
        "path": path.relative_to(index_dir).as_posix(),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def _read_manifest(index_dir: Path) -> dict[str, Any]:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexLoadError(f"{index_dir}: no {MANIFEST}, not an index directory (run `vidstyle index build`)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexLoadError(f"{path}: unreadable manifest ({exc}); rebuild the index") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexLoadError(f"{path}: not a vidstyle index manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexLoadError(
            f"{path}: index format version {manifest.get('format_version')}, this vidstyle reads "
            f"{FORMAT_VERSION}; rebuild the index"
        )
    return manifest


def _verified_file(index_dir: Path, entry: dict[str, Any], what: str) -> Path:
    """The path of a data file after checking its size and sha256 against the manifest."""
    path = index_dir / entry["path"]
    if not path.is_file():
        raise IndexLoadError(f"{index_dir}: {what} file {entry['path']} is missing; rebuild the index")
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise IndexLoadError(
            f"{index_dir}: {what} file {entry['path']} is truncated or altered ({size} bytes, manifest says "
            f"{entry['bytes']}); rebuild the index"
        )
    if sha256_file(path) != entry["sha256"]:
        raise IndexLoadError(
            f"{index_dir}: {what} file {entry['path']} is corrupted (sha256 differs from the manifest); "
            "rebuild the index"
        )
    return path


def _load_space(index_dir: Path, space: str, manifest: dict[str, Any], settings: IndexSettings) -> SpaceIndex:
    entry = manifest["spaces"][space]
    path = _verified_file(index_dir, entry["file"], f"{space} index")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexLoadError(f"{index_dir}: {space} index file cannot be read by faiss: {exc}") from exc
    expected = (manifest["dims"][space], entry["dims"])
    if any(index.d != dim for dim in expected):
        raise IndexLoadError(
            f"{index_dir}: dimension mismatch in the {space} index: the file holds {index.d}-d vectors, "
            f"the manifest says {expected[0]}; rebuild the index"
        )
    return SpaceIndex(index, IndexPlan.from_dict(entry["plan"]), settings)


def _load_id_table(index_dir: Path, entry: dict[str, Any]) -> dict[str, int]:
    path = _verified_file(index_dir, entry, "id table")
    try:
        table = pq.read_table(path)
        ids = table.column("id").to_pylist()
        videos = table.column("video_id").to_pylist()
    except (pa.ArrowException, KeyError, OSError) as exc:
        raise IndexLoadError(f"{index_dir}: id table cannot be read: {exc}") from exc
    return dict(zip(videos, ids))


def _attach_tombstones(index_dir: Path, space: str, index: SpaceIndex, id_table: dict[str, int]) -> None:
    """Check the index holds every live id; ids it holds beyond them are HNSW tombstones."""
    stored = index.stored_ids()
    live = np.fromiter(id_table.values(), dtype=np.int64, count=len(id_table))
    missing = np.setdiff1d(live, stored, assume_unique=True)
    extra = np.setdiff1d(stored, live, assume_unique=True)
    if len(missing) or (len(extra) and index.kind != "hnsw"):
        raise IndexLoadError(
            f"{index_dir}: the {space} index and the id table disagree ({len(missing)} ids missing, "
            f"{len(extra)} unexpected); rebuild the index"
        )
    if len(extra):
        index.dead.clear()
        index.remove(extra)
