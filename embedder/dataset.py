"""The embeddings dataset (EMB_DIR): a folder of Parquet parts, one row per video (docs/CONTRACT.md).

The one module that reads and writes EMB_DIR: the embed job, the index builder, the service's catalogue and
the test/bench data generators all go through it, so the schema and the crash-safety rules live here only.

Parts are immutable once published (temp file, fsync, rename), and a video is in at most one part: a
crashed or interrupted job loses only the rows it had not yet flushed, and a rerun redoes exactly those.
The one change to a published part is deleting a row (`remove_row`), by rewriting that part atomically.
Readers skip temp files (names starting with "." or "_"), as pyarrow does.

EMB_DIR may be an object-store URL (`s3://bucket/emb`; `vidstyle.core.storage`). There is no rename there, so a
part (and `_settings.json`) is written as one whole object, which readers see complete or not at all: the same
guarantee, and the same resume, since a rerun lists what is published.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from vidstyle.core import storage
from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_write, atomic_write_bytes, fsync_dir, remove_stale_temps
from vidstyle.embedder import copy_descriptor

PART_GLOB = "part-*.parquet"
COPY_COLUMN = "copy_descriptors"  # per keyframe, `vidstyle.embedder.copy_descriptor`; absent in older datasets
COPY_BACKGROUND_COLUMN = "copy_background"  # bg(x), `vidstyle.embedder.copy_background`; absent in older datasets
COPY_BACKGROUND_KEY = b"vidstyle.copy_background_sha256"
"""A part's metadata key: the sha256 of the background set its `COPY_BACKGROUND_COLUMN` values were computed
against. Values of a part without it, or with another background's, are not used (`copy_backgrounds`)."""
COPY_DESCRIPTOR_KEY = b"vidstyle.copy_descriptor_version"
"""A part's metadata key: the `copy_descriptor.VERSION` its `COPY_COLUMN` was written by. Descriptors of a part
without it (version 2, before the key existed) or with another version are not used (`stored_descriptors`): maps of
two versions keep one shape but do not compare."""
COPY_BACKGROUND_SHA256 = "copy_background_sha256"
"""A row's key (not a column) for that sha256: the writer of the row knows it, `write_part` records it."""
SETTINGS_FILE = "_settings.json"  # the settings behind the rows' vectors; "_" keeps pyarrow's readers off it


class DatasetError(VidstyleError, ValueError):
    """An EMB_DIR that cannot be used: missing, unreadable, empty, mixed models, bad or missing columns."""


def schema(dims: dict[str, int], copy_background_sha256: str | None = None) -> pa.Schema:
    """The columns of a part; `copy_background_sha256` names the background set behind its background scores."""
    vector_fields = [pa.field(name, pa.list_(pa.float32(), d)) for name, d in sorted(dims.items())]
    return pa.schema(
        [
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("path", pa.string()),
            pa.field("status", pa.string(), nullable=False),
            pa.field("error", pa.string()),
            pa.field("n_frames", pa.int32()),
            pa.field("frame_times", pa.list_(pa.float32())),
            *vector_fields,
            pa.field("thumbnails", pa.list_(pa.binary())),
            pa.field(COPY_COLUMN, pa.list_(pa.list_(pa.float32()))),
            pa.field(COPY_BACKGROUND_COLUMN, pa.float32()),
            pa.field("model", pa.string(), nullable=False),
        ],
        metadata={COPY_DESCRIPTOR_KEY: str(copy_descriptor.VERSION).encode(),
                  **({} if copy_background_sha256 is None else {COPY_BACKGROUND_KEY: copy_background_sha256.encode()})},
    )


def parts(emb_dir: storage.Location) -> list[storage.Location]:
    if storage.is_url(emb_dir):
        found = (o.url for o in storage.list_objects(str(emb_dir)))
        return [u for u in found if u == _child(emb_dir, storage.name(u)) and fnmatch(storage.name(u), PART_GLOB)]
    return sorted(Path(emb_dir).glob(PART_GLOB))


def _child(emb_dir: storage.Location, name: str) -> storage.Location:
    return storage.join(str(emb_dir), name) if storage.is_url(emb_dir) else Path(emb_dir) / name


def _read_parquet(location: storage.Location, columns: list[str] | None = None) -> pa.Table:
    if storage.is_url(location):
        fs, path = storage.filesystem(str(location))
        return pq.read_table(path, columns=columns, filesystem=fs)
    return pq.read_table(location, columns=columns)


def _read_schema(location: storage.Location) -> pa.Schema:
    """A part's schema (its footer only)."""
    if storage.is_url(location):
        fs, path = storage.filesystem(str(location))
        return pq.read_schema(path, filesystem=fs)
    return pq.read_schema(location)


def _write_parquet(target: storage.Location, table: pa.Table) -> None:
    """Publish `table` at `target` atomically: temp file and rename here, one whole object in object storage."""
    if storage.is_url(target):
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression="zstd")
        storage.put(str(target), buffer.getvalue().to_pybytes())
    else:
        atomic_write(Path(target), lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def _dataset(emb_dir: storage.Location) -> ds.Dataset:
    if storage.is_url(emb_dir):
        fs, path = storage.filesystem(str(emb_dir))
        return ds.dataset(path, filesystem=fs, format="parquet", ignore_prefixes=[".", "_"])
    return ds.dataset(Path(emb_dir), format="parquet", ignore_prefixes=[".", "_"])


def read_table(emb_dir: storage.Location, columns: list[str] | None = None) -> pa.Table | None:
    """All parts of EMB_DIR as one table, or None when there are none yet."""
    files = parts(emb_dir)
    if not files:
        return None
    try:
        return pa.concat_tables([_read_parquet(f, columns) for f in files], promote_options="default")
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetError(f"cannot read embeddings in {emb_dir}: {exc}") from exc


@dataclass(frozen=True)
class Existing:
    """What EMB_DIR already holds, as a resumed job must respect it."""

    status: dict[str, str]  # video_id -> "ok" | "failed"
    id_of_path: dict[str, str]  # the file's resolved path -> its video_id
    models: set[str]  # fingerprints present


def existing(emb_dir: storage.Location) -> Existing:
    table = read_table(emb_dir, columns=["video_id", "status", "path", "model"])
    if table is None:
        return Existing({}, {}, set())
    ids, statuses, paths = (table.column(c).to_pylist() for c in ("video_id", "status", "path"))
    # Paths of real files are stored absolute; others (uploads, older relative rows) match nothing.
    id_of_path = {p: v for v, p in zip(ids, paths) if p and (storage.is_url(p) or Path(p).is_absolute())}
    return Existing(dict(zip(ids, statuses)), id_of_path, set(table.column("model").unique().to_pylist()))


def check_fingerprint(emb_dir: storage.Location, fingerprint: str) -> None:
    """Refuse to mix models in one dataset."""
    others = existing(emb_dir).models - {fingerprint}
    if others:
        raise DatasetError(
            f"{emb_dir} already holds embeddings of model {sorted(others)[0]}, this job's model is {fingerprint}; "
            "use another --out folder (or the same config as before)"
        )


def write_part(emb_dir: storage.Location, rows: list[dict[str, Any]], dims: dict[str, int]) -> storage.Location:
    """Publish `rows` as one new part atomically; returns its path. The part records the background set behind
    its rows' background scores (`COPY_BACKGROUND_SHA256`); rows scored against two sets cannot share a part."""
    columns: dict[str, list[Any]] = {f.name: [] for f in schema(dims)}
    for row in rows:
        for name in columns:
            value = row.get(name)
            columns[name].append(value.tolist() if isinstance(value, np.ndarray) else value)
    backgrounds = {r.get(COPY_BACKGROUND_SHA256) for r in rows if r.get(COPY_BACKGROUND_COLUMN) is not None}
    if len(backgrounds) > 1 or None in backgrounds:
        raise DatasetError(f"rows with background scores against {len(backgrounds)} background sets in one part")
    part_schema = schema(dims, next(iter(backgrounds), None))
    table = pa.Table.from_pydict(columns, schema=part_schema)
    target = _child(emb_dir, f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet")
    _write_parquet(target, table)
    return target


def write_vectors(
    emb_dir: storage.Location,
    video_ids: Sequence[str],
    vectors: Mapping[str, np.ndarray],
    *,
    fingerprint: str = "synthetic:000000000000",
    failed: Sequence[str] = (),
    part_rows: int = 1000,
) -> None:
    """Publish ready-made vectors as ok rows without media (no frames, thumbnails), for tests and benchmarks.

    `vectors[column]` is (len(video_ids), dim); `failed` adds rows with status 'failed' and null vectors.
    """
    prepare(emb_dir)
    matrices = {name: np.asarray(m, dtype=np.float32) for name, m in vectors.items()}
    dims = {name: int(m.shape[1]) for name, m in matrices.items()}
    rows: list[dict[str, Any]] = [
        {"video_id": v, "path": f"/videos/{v}.mp4", "status": "ok", "model": fingerprint,
         **{name: m[i] for name, m in matrices.items()}}
        for i, v in enumerate(video_ids)
    ]
    rows += [{"video_id": v, "path": f"/videos/{v}.mp4", "status": "failed", "error": "cannot decode",
              "n_frames": 0, "model": fingerprint} for v in failed]
    for start in range(0, len(rows), part_rows):
        write_part(emb_dir, rows[start : start + part_rows], dims)


def read_part(emb_dir: storage.Location, name: str, columns: list[str] | None = None, *,
              optional: Sequence[str] = ()) -> pa.Table:
    """One part's rows (FileNotFoundError when a concurrent delete removed it), with its metadata; `optional`
    columns are read when the part has them (parts written before a column existed lack it)."""
    location = _child(emb_dir, name)
    if optional:
        names = _read_schema(location).names
        columns = [*(columns or []), *(c for c in optional if c in names)]
    return _read_parquet(location, columns)


def optional_column(table: pa.Table, name: str) -> list[Any]:
    """A column's values, or None for every row of a part written before the column existed."""
    return table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows


def copy_descriptors(emb_dir: Path, video_ids: Iterable[str] | None = None) -> dict[str, np.ndarray | None]:
    """video_id -> its per-keyframe copy descriptors (n_keyframes, dim), for the ok rows (all, or `video_ids`).

    A row without them (a part written before the column existed, or a failed row) maps to None: unknown, which
    the copy check reports as such rather than guessing (re-embed into a new EMB_DIR to compute them).
    """
    return _ok_rows(emb_dir, video_ids, COPY_COLUMN, stored_descriptors)


def current_descriptors(schema: pa.Schema) -> bool:
    """Whether a part's copy descriptors (if any) were written by this `copy_descriptor.VERSION`."""
    return (schema.metadata or {}).get(COPY_DESCRIPTOR_KEY) == str(copy_descriptor.VERSION).encode()


def stored_descriptors(table: pa.Table) -> list[np.ndarray | None]:
    """A part's copy descriptors, row by row (a table read from one part, with its metadata): None where there are
    none, and for all its rows when another descriptor version wrote them (`COPY_DESCRIPTOR_KEY`)."""
    if COPY_COLUMN not in table.column_names or not current_descriptors(table.schema):
        return [None] * table.num_rows
    return [np.asarray(frames, np.float32) if frames else None for frames in table.column(COPY_COLUMN).to_pylist()]


def copy_backgrounds(emb_dir: Path, video_ids: Iterable[str] | None = None, *,
                     sha256: str) -> dict[str, float | None]:
    """video_id -> its stored background score (`vidstyle.embedder.copy_background`), for the ok rows (all, or
    `video_ids`). None for a row without one: a part written before the column existed, or against another
    background set than `sha256` (the one the caller scores against), whose values are not comparable."""
    return _ok_rows(emb_dir, video_ids, COPY_BACKGROUND_COLUMN, lambda table: stored_backgrounds(table, sha256))


def _ok_rows(emb_dir: Path, video_ids: Iterable[str] | None, column: str,
             values: Callable[[pa.Table], list[Any]]) -> dict[str, Any]:
    """video_id -> `values(part)`'s entry for its row, for the ok rows (all, or `video_ids`), part by part; the
    optional `column` is read where a part has it (`read_part`)."""
    wanted = None if video_ids is None else set(video_ids)
    out: dict[str, Any] = {}
    for part in parts(emb_dir):
        table = read_part(emb_dir, Path(str(part)).name, ["video_id", "status"], optional=[column])
        for vid, status, value in zip(table.column("video_id").to_pylist(), table.column("status").to_pylist(),
                                      values(table)):
            if status == "ok" and (wanted is None or vid in wanted):
                out[vid] = value
    return out


def stored_backgrounds(table: pa.Table, sha256: str) -> list[float | None]:
    """A part's background scores, row by row (a table read from one part, with its metadata): None where there
    is none, and for all its rows when the part's scores were computed against another background than `sha256`."""
    recorded = (table.schema.metadata or {}).get(COPY_BACKGROUND_KEY)
    if COPY_BACKGROUND_COLUMN not in table.column_names or recorded != sha256.encode():
        return [None] * table.num_rows
    return [None if v is None else float(v) for v in table.column(COPY_BACKGROUND_COLUMN).to_pylist()]


def part_vectors(
    emb_dir: storage.Location, name: str, video_ids: Iterable[str], columns: Iterable[str]
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The vectors of those `video_ids` that part `name` holds: (ids in part order, column -> (n, dim))."""
    columns = list(columns)
    table = read_part(emb_dir, name, ["video_id", *columns])
    table = table.filter(pc.is_in(table.column("video_id"), value_set=pa.array(list(video_ids), pa.string())))
    return table.column("video_id").to_pylist(), {c: vectors_from_arrow(table.column(c), c) for c in columns}


def remove_row(emb_dir: storage.Location, name: str, video_id: str) -> None:
    """Delete `video_id`'s row by rewriting part `name` without it (atomically), or deleting a part left empty."""
    _drop_rows(Path(emb_dir), name, {video_id})


def remove_rows(emb_dir: storage.Location, video_ids: Iterable[str]) -> None:
    """Delete the rows of `video_ids` wherever they are, rewriting each part that holds one once."""
    wanted = set(video_ids)
    if not wanted:
        return
    for part in parts(emb_dir):
        held = wanted.intersection(_read_parquet(part, ["video_id"]).column("video_id").to_pylist())
        if held:
            _drop_rows(emb_dir, storage.name(str(part)), held)


def _drop_rows(emb_dir: storage.Location, name: str, video_ids: set[str]) -> None:
    path = _child(emb_dir, name)
    table = _read_parquet(path)
    keep = table.filter(pc.invert(pc.is_in(table.column("video_id"), value_set=pa.array(sorted(video_ids)))))
    if keep.num_rows > 0:
        _write_parquet(path, keep)
    elif storage.is_url(path):
        storage.delete(str(path))
    else:
        Path(path).unlink(missing_ok=True)
        fsync_dir(Path(emb_dir))


def failed_rows(emb_dir: storage.Location) -> dict[str, str]:
    """video_id -> reason of every row with status 'failed' (none when EMB_DIR has no parts)."""
    if not (storage.is_url(emb_dir) or Path(emb_dir).is_dir()) or not parts(emb_dir):
        return {}
    table = _dataset(emb_dir).to_table(columns=["video_id", "error"], filter=pc.field("status") == "failed")
    return dict(zip(table.column("video_id").to_pylist(), table.column("error").to_pylist()))


def record_settings(emb_dir: storage.Location, fingerprint: str, sections: dict[str, dict[str, Any]]) -> None:
    """Write the settings behind `fingerprint`'s vectors (once: a dataset holds one fingerprint).

    `sections` are settings sections as `load_settings(recorded=...)` takes them: the model's, and the frame
    sampling that decides which frames a vector averages. Commands that embed a new file against this dataset
    or its index (`query --file`, the service's uploads) read them back with `recorded_settings`, so they embed
    exactly as the catalogue was embedded without being given a config.
    """
    if recorded_settings(emb_dir, fingerprint) is not None:
        return
    data = json.dumps({"fingerprint": fingerprint, "settings": sections}, indent=2, default=str).encode()
    target = _child(emb_dir, SETTINGS_FILE)
    if storage.is_url(target):
        storage.put(str(target), data)
    else:
        atomic_write_bytes(Path(target), data)


def recorded_settings(emb_dir: storage.Location, fingerprint: str | None = None) -> dict[str, Any] | None:
    """The settings sections EMB_DIR was embedded with (`record_settings`), or None when it has none (older
    datasets, test data) or they belong to another fingerprint than `fingerprint`."""
    path = _child(emb_dir, SETTINGS_FILE)
    try:
        data = json.loads(storage.read_bytes(str(path)) if storage.is_url(path) else Path(path).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is unreadable ({exc}); delete it to embed with the configured model") from exc
    if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
        raise DatasetError(f"{path} is not a vidstyle settings record; delete it to embed with the configured model")
    if fingerprint is not None and data.get("fingerprint") != fingerprint:
        return None
    return data["settings"]


def prepare(emb_dir: storage.Location) -> None:
    """Create EMB_DIR if needed and remove the temp files a crashed writer left behind (in object storage, where
    nothing is written through temp files, check only that the bucket can be listed)."""
    if storage.is_url(emb_dir):
        storage.list_objects(str(emb_dir))
        return
    Path(emb_dir).mkdir(parents=True, exist_ok=True)
    remove_stale_temps(Path(emb_dir))


@dataclass(frozen=True)
class Embeddings:
    video_ids: list[str]
    fingerprint: str
    vectors: dict[str, np.ndarray]  # space -> (n, dim) float32


def vectors_from_arrow(column: pa.ChunkedArray | pa.Array, name: str) -> np.ndarray:
    """(n, dim) float32 from a fixed-size (or equal-length) list column without nulls."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    if array.null_count:
        raise DatasetError(f"column {name!r} has {array.null_count} null vectors in rows with status 'ok'")
    if pa.types.is_fixed_size_list(array.type):
        dim = array.type.list_size
    elif pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
        dim = int(lengths[0]) if n else 0
        if n and (lengths != dim).any():
            raise DatasetError(f"column {name!r} holds vectors of different lengths")
    else:
        raise DatasetError(f"column {name!r} is {array.type}, not a list of floats")
    values = array.flatten().to_numpy(zero_copy_only=False)
    if not np.issubdtype(values.dtype, np.floating):
        raise DatasetError(f"column {name!r} holds {values.dtype}, not floats")
    return np.ascontiguousarray(values.reshape(n, dim), dtype=np.float32)


def read_embeddings(emb_dir: storage.Location, columns: Mapping[str, str]) -> Embeddings:
    """The ok rows of `emb_dir`: ids, model fingerprint and one matrix per space (`columns`: space -> column)."""
    emb_dir = storage.location(emb_dir)
    if not storage.is_url(emb_dir) and not Path(emb_dir).is_dir():
        raise DatasetError(f"{emb_dir}: no such embeddings directory")
    try:
        dataset = _dataset(emb_dir)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetError(f"{emb_dir}: cannot read the embeddings dataset: {exc}") from exc
    if not dataset.files:
        raise DatasetError(f"{emb_dir}: no Parquet files (run `vidstyle embed` first)")
    wanted = ["video_id", "status", "model", *dict.fromkeys(columns.values())]
    missing = [c for c in wanted if c not in dataset.schema.names]
    if missing:
        raise DatasetError(f"{emb_dir}: the embeddings dataset lacks column(s) {', '.join(missing)}")
    try:
        table = dataset.to_table(columns=wanted, filter=pc.field("status") == "ok")
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetError(f"{emb_dir}: cannot read the embeddings dataset: {exc}") from exc
    if table.num_rows == 0:
        raise DatasetError(f"{emb_dir}: no videos with status 'ok' to index")

    video_ids = table.column("video_id").to_pylist()
    if None in video_ids:
        raise DatasetError(f"{emb_dir}: rows with a null video_id")
    if len(set(video_ids)) != len(video_ids):
        dupes = sorted(v for v, count in Counter(video_ids).items() if count > 1)
        raise DatasetError(f"{emb_dir}: {len(dupes)} duplicate video_id values, e.g. {dupes[:3]}")
    models = pc.unique(table.column("model")).to_pylist()
    if len(models) != 1 or not models[0]:
        raise DatasetError(
            f"{emb_dir}: embeddings come from {len(models)} model fingerprints {models[:3]}; "
            "re-embed everything with one config"
        )
    vectors = {space: vectors_from_arrow(table.column(col), col) for space, col in columns.items()}
    return Embeddings(video_ids=video_ids, fingerprint=models[0], vectors=vectors)
