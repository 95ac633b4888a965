"""INDEX_DIR on disk: the manifest, the data files with their checksums, crash-safe save and verified load.

Layout:

    INDEX_DIR/manifest.json               the one file a reader starts from; replaced atomically, last
    INDEX_DIR/data-<stamp>/style.faiss    written by faiss.write_index
    INDEX_DIR/data-<stamp>/content.faiss
    INDEX_DIR/data-<stamp>/ids.parquet    live videos: id (int64) <-> video_id (string)
    INDEX_DIR/data-<stamp>/content.vectors.npy, content.vector_ids.npy
                                          compressed indexes only (IVF-SQ8/PQ): the float vectors that re-rank
                                          their candidates, rows sorted by id; memory-mapped read-only on load
    INDEX_DIR/wal-<log id>-<seq>.log      writes since the save (`vidstyle.indexing.writelog`); the manifest's
                                          "log" names the log and the last record the data files hold

`save()` writes each data file into a fresh `data-<stamp>/` directory (each one temp, fsync, rename, via
`vidstyle.core.files`), then atomically replaces `manifest.json`, which names those files with their sizes and
sha256 checksums; `remove_stale_data()` then deletes older data directories. A crash at any moment leaves either
the old manifest with its intact files or the new manifest with its complete files, never a mix; data
directories an interrupted save left are removed by the next save or writable open (`remove_orphans`). `load()`
refuses (IndexLoadError) a file whose size or checksum differs from the manifest, an unexpected model
fingerprint, and an index whose dimension differs from the manifest's.

This module knows nothing of searching or updating: the in-memory index set (`vidstyle.indexing.index_set`)
hands it an `IndexRecord` to save and gets one back from `load()`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
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
from vidstyle.indexing.errors import IndexLoadError
from vidstyle.indexing.exact_vectors import ExactVectors
from vidstyle.indexing.factory import TOMBSTONE_KINDS, IndexPlan, ready_to_encode
from vidstyle.indexing.space import SpaceIndex

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "vidstyle-index"
FORMAT_VERSION = 1
DATA_PREFIX = "data-"


@dataclass
class IndexRecord:
    """Everything INDEX_DIR holds about a catalogue's two indexes."""

    fingerprint: str
    spaces: dict[str, SpaceIndex]
    columns: dict[str, str]  # space -> the EMB_DIR column it indexes
    id_table: dict[str, int]  # video_id -> int64 id shared by both spaces
    next_id: int
    created_at: str
    emb_dir: Path | None = None  # the dataset it was built from (absolute in memory, relative on disk)
    log_id: str | None = None  # the write-ahead log continuing these files (None: written before logs existed)
    log_seq: int = 0  # the last log record these files hold


@dataclass(frozen=True)
class SavedFiles:
    """What the last save (or load) wrote: each data file's entry in the manifest, and when."""

    files: dict[str, Any] = field(default_factory=dict)  # "style" / "content" / "ids" -> {path, bytes, sha256}
    saved_at: str | None = None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def manifest(record: IndexRecord, saved: SavedFiles, index_dir: Path | None = None) -> dict[str, Any]:
    """The manifest.json of `record`; with `index_dir`, the dataset path is made relative to it."""
    files, emb_dir = saved.files, record.emb_dir
    if emb_dir is not None and index_dir is not None:  # relative on disk: the pair can move together
        emb_dir = Path(os.path.relpath(emb_dir, index_dir.resolve()))
    spaces = {
        space: {
            "column": record.columns[space],
            "dims": index.dim,
            "index_type": index.kind,
            "description": index.plan.description,
            "reason": index.plan.reason,
            "plan": index.plan.as_dict(),
            "stored_vectors": index.ntotal,
            "tombstones": len(index.dead),
            "file": files.get(space),
            "exact_vectors": files.get(f"{space}.vectors"),
            "exact_ids": files.get(f"{space}.vector_ids"),
        }
        for space, index in record.spaces.items()
    }
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fingerprint": record.fingerprint,
        "count": len(record.id_table),
        "next_id": record.next_id,
        "dims": {space: index.dim for space, index in record.spaces.items()},
        "index_type": {space: index.kind for space, index in record.spaces.items()},
        "spaces": spaces,
        "ids": files.get("ids"),
        "emb_dir": emb_dir.as_posix() if emb_dir is not None else None,
        "log": {"id": record.log_id, "seq": record.log_seq},
        "faiss_version": faiss.__version__,
        "created_at": record.created_at,
        "saved_at": saved.saved_at,
    }


def save(index_dir: Path, record: IndexRecord) -> SavedFiles:
    """Write both indexes, the id table and manifest.json (last) into `index_dir`; crash-safe.

    The caller keeps `record` from changing meanwhile (searches may go on).
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    remove_orphans(index_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    data_dir = index_dir / f"{DATA_PREFIX}{stamp}-{uuid.uuid4().hex[:8]}"
    data_dir.mkdir()
    fsync_dir(index_dir)
    files: dict[str, Any] = {}
    for space, index in record.spaces.items():
        path = data_dir / f"{space}.faiss"
        atomic_write(path, lambda tmp, index=index: faiss.write_index(index.index, str(tmp)))
        files[space] = _file_entry(index_dir, path)
        if index.exact is not None:
            files.update(_save_exact(index_dir, data_dir, space, index))
    ids_path = data_dir / "ids.parquet"
    table = pa.table(
        {
            "id": pa.array(list(record.id_table.values()), pa.int64()),
            "video_id": pa.array(list(record.id_table), pa.string()),
        }
    )
    atomic_write(ids_path, lambda tmp: pq.write_table(table, tmp))
    files["ids"] = _file_entry(index_dir, ids_path)
    saved = SavedFiles(files, now())
    atomic_write_bytes(index_dir / MANIFEST, json.dumps(manifest(record, saved, index_dir), indent=2).encode())
    log.info("saved %d videos to %s", len(record.id_table), index_dir)
    return saved


def _save_exact(index_dir: Path, data_dir: Path, space: str, index: SpaceIndex) -> dict[str, Any]:
    """Write the float vectors of every live id the index stores (sorted by id), streamed from the current ones.

    Tombstoned ids are left out: their vectors are gone from `index.exact`, and no search re-ranks them."""
    assert index.exact is not None
    stored = index.stored_ids()
    ids = np.sort(stored[~np.isin(stored, np.fromiter(index.dead, dtype=np.int64, count=len(index.dead)))])
    ids_path, vectors_path = data_dir / f"{space}.vector_ids.npy", data_dir / f"{space}.vectors.npy"

    def write_vectors(tmp: Path) -> None:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(ids), index.dim))
        start = 0
        for block in index.exact.rows_of(ids):  # type: ignore[union-attr]
            out[start : start + len(block)] = block
            start += len(block)
        out.flush()
        del out

    def write_ids(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, ids)

    atomic_write(vectors_path, write_vectors)
    atomic_write(ids_path, write_ids)
    return {
        f"{space}.vectors": _file_entry(index_dir, vectors_path),
        f"{space}.vector_ids": _file_entry(index_dir, ids_path),
    }


def remove_stale_data(index_dir: Path, current: SavedFiles) -> None:
    """Delete the data directories the manifest no longer names (older saves)."""
    _remove_data_except(Path(index_dir), _data_dirs(current.files.values()))


def remove_orphans(index_dir: Path) -> None:
    """Delete the temp files and data directories an interrupted save left behind (named by no manifest).

    Only INDEX_DIR's one writer may call it (before a save, or when it opens the index): another process's save
    in progress looks just like an interrupted one. Only with a readable manifest, or none at all: a manifest
    that cannot be read may still name some of them.
    """
    index_dir = Path(index_dir)
    remove_stale_temps(index_dir)
    path = index_dir / MANIFEST
    if not path.exists():
        _remove_data_except(index_dir, set())
        return
    try:
        data = json.loads(path.read_text())
        entries = [data["ids"], *(space["file"] for space in data["spaces"].values())]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return
    _remove_data_except(index_dir, _data_dirs(entries))


def _data_dirs(entries: Any) -> set[str]:
    return {Path(entry["path"]).parts[0] for entry in entries if isinstance(entry, dict) and entry.get("path")}


def _remove_data_except(index_dir: Path, keep: set[str]) -> None:
    for old in index_dir.glob(f"{DATA_PREFIX}*"):
        if old.is_dir() and old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def recorded_emb_dir(index_dir: Path) -> Path | None:
    """The embeddings dataset the manifest of INDEX_DIR names (None when it names none)."""
    name = read_manifest(Path(index_dir)).get("emb_dir")
    return (Path(index_dir) / name).resolve() if name else None


def manifest_identity(index_dir: Path) -> tuple[int, int] | None:
    """Which manifest.json INDEX_DIR holds now (inode, mtime): a save replaces the file, so this changes."""
    try:
        st = os.stat(Path(index_dir) / MANIFEST)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def load(
    index_dir: Path, settings: IndexSettings, expect_fingerprint: str | None = None, *, mmap: bool = False,
    verify: bool = True,
) -> tuple[IndexRecord, SavedFiles]:
    """Read a saved INDEX_DIR, verifying it first; IndexLoadError says what is wrong and what to do.

    `mmap`: the index files are memory-mapped read-only instead of read into memory (faiss's
    IO_FLAG_MMAP_IFC: flat codes and inverted lists), so processes serving the same INDEX_DIR share one copy in
    the page cache; such an index cannot be changed in place. Fast-scan lists are the exception: faiss reads their
    blocked codes into each process's own memory whatever the flag (200k x 128: 14.4 of the file's 15.1 MB, the
    same as without it); their float vectors, 8x the codes, are the memory-mapped part.
    `verify=False` checks sizes but not checksums: for files a sibling process has just written and checksummed,
    where hashing gigabytes again would only delay taking them in."""
    index_dir = Path(index_dir)
    data = read_manifest(index_dir)
    try:
        fingerprint = data["fingerprint"]
        if expect_fingerprint is not None and fingerprint != expect_fingerprint:
            raise IndexLoadError(
                f"{index_dir}: built from embeddings of model {fingerprint!r}, but the configured model "
                f"is {expect_fingerprint!r}; re-embed and rebuild (`vidstyle index build`) or use the "
                "config the index was built with"
            )
        files = {name: data["spaces"][name]["file"] for name in SPACES}
        files["ids"] = data["ids"]
        for space in SPACES:
            for key, name in (("exact_vectors", f"{space}.vectors"), ("exact_ids", f"{space}.vector_ids")):
                if data["spaces"][space].get(key):
                    files[name] = data["spaces"][space][key]
        spaces = {space: _load_space(index_dir, space, data, settings, mmap, verify) for space in SPACES}
        id_table = _load_id_table(index_dir, data["ids"], verify)
        if len(id_table) != data["count"]:
            raise IndexLoadError(f"{index_dir}: id table holds {len(id_table)} videos, manifest says {data['count']}")
        for space, index in spaces.items():
            _attach_tombstones(index_dir, space, index, id_table)
        record = IndexRecord(
            fingerprint=fingerprint,
            spaces=spaces,
            columns={space: data["spaces"][space]["column"] for space in SPACES},
            id_table=id_table,
            next_id=int(data["next_id"]),
            created_at=data["created_at"],
            emb_dir=(index_dir / data["emb_dir"]).resolve() if data.get("emb_dir") else None,
            log_id=(data.get("log") or {}).get("id"),
            log_seq=int((data.get("log") or {}).get("seq", 0)),
        )
        return record, SavedFiles(files, data.get("saved_at"))
    except (KeyError, TypeError) as exc:
        raise IndexLoadError(f"{index_dir}/{MANIFEST} is malformed (missing or bad entry {exc})") from exc
    except FileNotFoundError as exc:  # a save in another process replaced the manifest and deleted its files
        raise IndexLoadError(f"{index_dir}: a data file went while it was read ({exc}); open it again") from exc


def _file_entry(index_dir: Path, path: Path) -> dict[str, Any]:
    return {
        "path": path.relative_to(index_dir).as_posix(),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """manifest.json of INDEX_DIR, checked to be one this version reads (the data files are not verified)."""
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


def _verified_file(index_dir: Path, entry: dict[str, Any], what: str, verify: bool = True) -> Path:
    """The path of a data file after checking its size and (`verify`) sha256 against the manifest."""
    path = index_dir / entry["path"]
    if not path.is_file():
        raise IndexLoadError(f"{index_dir}: {what} file {entry['path']} is missing; rebuild the index")
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise IndexLoadError(
            f"{index_dir}: {what} file {entry['path']} is truncated or altered ({size} bytes, manifest says "
            f"{entry['bytes']}); rebuild the index"
        )
    if verify and sha256_file(path) != entry["sha256"]:
        raise IndexLoadError(
            f"{index_dir}: {what} file {entry['path']} is corrupted (sha256 differs from the manifest); "
            "rebuild the index"
        )
    return path


def _load_space(
    index_dir: Path, space: str, manifest: dict[str, Any], settings: IndexSettings, mmap: bool, verify: bool
) -> SpaceIndex:
    entry = manifest["spaces"][space]
    path = _verified_file(index_dir, entry["file"], f"{space} index", verify)
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
    except RuntimeError as exc:
        raise IndexLoadError(f"{index_dir}: {space} index file cannot be read by faiss: {exc}") from exc
    expected = (manifest["dims"][space], entry["dims"])
    if any(index.d != dim for dim in expected):
        raise IndexLoadError(
            f"{index_dir}: dimension mismatch in the {space} index: the file holds {index.d}-d vectors, "
            f"the manifest says {expected[0]}; rebuild the index"
        )
    exact = _exact_vectors(index_dir, entry.get("exact_vectors"), entry.get("exact_ids"), space, index.d, verify)
    plan = IndexPlan.from_dict(entry["plan"])
    ready_to_encode(index, plan)
    return SpaceIndex(index, plan, settings, exact=exact, mapped=mmap)


def saved_exact_vectors(index_dir: Path, saved: SavedFiles, space: str, dim: int) -> ExactVectors | None:
    """The float vectors `saved` wrote for `space`, memory-mapped read-only (None: it wrote none); sizes are
    checked, not checksums (the save just computed them)."""
    files = saved.files
    return _exact_vectors(Path(index_dir), files.get(f"{space}.vectors"), files.get(f"{space}.vector_ids"), space,
                          dim, verify=False)


def _exact_vectors(index_dir: Path, vectors: dict[str, Any] | None, ids: dict[str, Any] | None, space: str, dim: int,
                   verify: bool) -> ExactVectors | None:
    if not vectors or not ids:
        return None
    rows = np.load(_verified_file(index_dir, vectors, f"{space} float vectors", verify), mmap_mode="r")
    id_array = np.load(_verified_file(index_dir, ids, f"{space} vector ids", verify))
    if rows.shape != (len(id_array), dim):
        raise IndexLoadError(f"{index_dir}: the {space} float vectors have shape {rows.shape}; rebuild the index")
    return ExactVectors(id_array, rows)


def _load_id_table(index_dir: Path, entry: dict[str, Any], verify: bool = True) -> dict[str, int]:
    path = _verified_file(index_dir, entry, "id table", verify)
    try:
        table = pq.read_table(path)
        ids = table.column("id").to_pylist()
        videos = table.column("video_id").to_pylist()
    except (pa.ArrowException, KeyError, OSError) as exc:
        raise IndexLoadError(f"{index_dir}: id table cannot be read: {exc}") from exc
    return dict(zip(videos, ids))


def _attach_tombstones(index_dir: Path, space: str, index: SpaceIndex, id_table: dict[str, int]) -> None:
    """Check the index holds every live id; ids it holds beyond them are tombstones (HNSW, fast-scan)."""
    stored = index.stored_ids()
    live = np.fromiter(id_table.values(), dtype=np.int64, count=len(id_table))
    missing = np.setdiff1d(live, stored, assume_unique=True)
    extra = np.setdiff1d(stored, live, assume_unique=True)
    if len(missing) or (len(extra) and index.kind not in TOMBSTONE_KINDS):
        raise IndexLoadError(
            f"{index_dir}: the {space} index and the id table disagree ({len(missing)} ids missing, "
            f"{len(extra)} unexpected); rebuild the index"
        )
    if len(extra):
        index.dead.clear()
        index.remove(extra)
