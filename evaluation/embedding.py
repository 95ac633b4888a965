"""Embed the distinct files an evaluation needs, once each, through the production `Embedder`.

Evaluations reuse the same files over and over (every benchmark item sits in several triplets, and a sweep
re-runs the same benchmark). Vectors are cached on disk keyed by (absolute path, mtime, size) under the model
fingerprint, so an edited file or a changed model/feature setting is re-embedded and nothing stale is scored.
Files are decoded by a `DecodePool` (isolated workers, like `vidstyle embed`) and run through the backbone in
batches gathered across files.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vidstyle.core.files import atomic_write
from vidstyle.core.settings import Settings
from vidstyle.embedder.model import Embedder
from vidstyle.embedder.pipeline import gather_batches
from vidstyle.media.decode import Decoded
from vidstyle.media.decode_pool import DecodeJob

CACHE_DIRNAME = ".vidstyle-cache"


@dataclass
class FileEmbedding:
    path: Path
    vectors: dict[str, np.ndarray]
    thumbnail: bytes | None  # JPEG of a middle frame, for reports
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def file_key(path: Path) -> str:
    """The cache key: absolute path, modification time and size (an edit changes at least one)."""
    st = os.stat(path)
    return f"{Path(path).resolve()}|{st.st_mtime_ns}|{st.st_size}"


class EmbeddingCache:
    """One Parquet file per model fingerprint: key → vectors + thumbnail. Failures are not cached."""

    def __init__(self, directory: Path | None, fingerprint: str) -> None:
        safe = re.sub(r"[^\w.-]", "_", fingerprint)
        self.path = None if directory is None else Path(directory) / f"{safe}.parquet"
        self._rows: dict[str, dict] = {}
        self._dirty = False
        if self.path is not None and self.path.is_file():
            try:
                for row in pq.read_table(self.path).to_pylist():
                    self._rows[row.pop("key")] = row
            except Exception as exc:  # noqa: BLE001 - a corrupt cache is only a slower run
                print(f"warning: ignoring unreadable cache {self.path}: {exc}", file=sys.stderr)

    def get(self, key: str) -> dict | None:
        return self._rows.get(key)

    def put(self, key: str, vectors: dict[str, np.ndarray], thumbnail: bytes | None) -> None:
        lists = {k: np.asarray(v, np.float32).tolist() for k, v in vectors.items()}
        self._rows[key] = {"thumbnail": thumbnail, **lists}
        self._dirty = True

    def save(self) -> None:
        """Rewrite the cache atomically; an unwritable cache folder only costs a warning."""
        if self.path is None or not self._dirty:
            return
        rows = [{"key": k, **v} for k, v in self._rows.items()]
        names = sorted({n for r in rows for n in r} - {"key", "thumbnail"})
        if any(any(n not in r for n in names) for r in rows):  # vector set changed: keep only complete rows
            rows = [r for r in rows if all(n in r for n in names)]
        columns = {"key": pa.array([r["key"] for r in rows], pa.string()),
                   "thumbnail": pa.array([r["thumbnail"] for r in rows], pa.binary())}
        for n in names:
            columns[n] = pa.array([r[n] for r in rows], pa.list_(pa.float32()))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, lambda tmp: pq.write_table(pa.table(columns), tmp))
            self._dirty = False
        except OSError as exc:
            print(f"warning: cannot write embedding cache {self.path}: {exc.strerror}", file=sys.stderr)


def _middle_thumbnail(decoded: Decoded) -> bytes | None:
    return decoded.thumbnails[len(decoded.thumbnails) // 2] if decoded.thumbnails else None


def embed_files(paths: Iterable[Path], settings: Settings, cache_dir: Path | None = None,
                embedder: Embedder | None = None, progress: bool = False) -> dict[Path, FileEmbedding]:
    """Vectors for each distinct path (cached ones are not decoded). Missing files come back with an error."""
    distinct = list(dict.fromkeys(Path(p) for p in paths))
    out: dict[Path, FileEmbedding] = {}
    keys: dict[Path, str] = {}
    for p in distinct:
        try:
            keys[p] = file_key(p)
        except OSError as exc:
            out[p] = FileEmbedding(p, {}, None, f"cannot read file: {exc.strerror}")
    own = embedder is None
    embedder = embedder or Embedder(settings)
    cache = EmbeddingCache(cache_dir, embedder.fingerprint)
    todo: list[Path] = []
    for p, key in keys.items():
        row = cache.get(key)
        if row is None:
            todo.append(p)
        else:
            vec = {k: np.asarray(v, np.float32) for k, v in row.items() if k != "thumbnail"}
            out[p] = FileEmbedding(p, vec, row["thumbnail"])
    try:
        if todo:
            _embed_uncached(todo, embedder, settings, keys, cache, out, progress)
    finally:
        cache.save()
        if own:
            embedder.close()
    return {p: out[p] for p in distinct}


def _embed_uncached(todo: Sequence[Path], embedder: Embedder, settings: Settings, keys: dict[Path, str],
                    cache: EmbeddingCache, out: dict[Path, FileEmbedding], progress: bool) -> None:
    by_key = {str(i): p for i, p in enumerate(todo)}
    done = 0
    with embedder.make_pool() as pool:
        jobs = (DecodeJob(k, p) for k, p in by_key.items())
        for batch in gather_batches(pool.imap_unordered(jobs), settings.model.batch_size):
            good = [(job, res) for job, res in batch if not isinstance(res, str)]
            for (job, res), vec in zip(good, embedder.vectors([res for _, res in good])):
                p = by_key[job.key]
                out[p] = FileEmbedding(p, vec, _middle_thumbnail(res))
                cache.put(keys[p], vec, out[p].thumbnail)
            for job, res in batch:
                if isinstance(res, str):
                    out[by_key[job.key]] = FileEmbedding(by_key[job.key], {}, None, res)
            done += len(batch)
            if progress:
                print(f"\rembedded {done}/{len(todo)} files", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
