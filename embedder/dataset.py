"""The embeddings dataset (EMB_DIR): a folder of Parquet parts, one row per video (see CONTRACT.md).

Parts are immutable once published (temp file, fsync, rename), and a video is in at most one part: a
crashed or interrupted job loses only the rows it had not yet flushed, and a rerun redoes exactly those.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from vidstyle.core.errors import VidstyleError
from vidstyle.core.files import atomic_write, remove_stale_temps

PART_GLOB = "part-*.parquet"


class DatasetError(VidstyleError, ValueError):
    """EMB_DIR holds something this job must not mix with (another model) or cannot read."""


def schema(dims: dict[str, int]) -> pa.Schema:
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
            pa.field("model", pa.string(), nullable=False),
        ]
    )


def parts(emb_dir: Path) -> list[Path]:
    return sorted(Path(emb_dir).glob(PART_GLOB))


def read_table(emb_dir: Path, columns: list[str] | None = None) -> pa.Table | None:
    """All parts of EMB_DIR as one table, or None when there are none yet."""
    files = parts(emb_dir)
    if not files:
        return None
    try:
        return pa.concat_tables([pq.read_table(f, columns=columns) for f in files], promote_options="default")
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetError(f"cannot read embeddings in {emb_dir}: {exc}") from exc


def existing_state(emb_dir: Path) -> tuple[set[str], set[str]]:
    """(video_ids already present, model fingerprints present) — what a resumed job must respect."""
    table = read_table(emb_dir, columns=["video_id", "model"])
    if table is None:
        return set(), set()
    return set(table.column("video_id").to_pylist()), set(table.column("model").unique().to_pylist())


def check_fingerprint(emb_dir: Path, fingerprint: str) -> set[str]:
    """Refuse to mix models in one dataset; return the video_ids already done."""
    done, models = existing_state(emb_dir)
    others = models - {fingerprint}
    if others:
        raise DatasetError(
            f"{emb_dir} already holds embeddings of model {sorted(others)[0]}, this job's model is {fingerprint}; "
            "use another --out folder (or the same config as before)"
        )
    return done


def write_part(emb_dir: Path, rows: list[dict[str, Any]], dims: dict[str, int]) -> Path:
    """Publish `rows` as one new part atomically; returns its path."""
    columns: dict[str, list[Any]] = {f.name: [] for f in schema(dims)}
    for row in rows:
        for name in columns:
            value = row.get(name)
            columns[name].append(value.tolist() if isinstance(value, np.ndarray) else value)
    table = pa.Table.from_pydict(columns, schema=schema(dims))
    target = Path(emb_dir) / f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
    atomic_write(target, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return target


def prepare(emb_dir: Path) -> None:
    Path(emb_dir).mkdir(parents=True, exist_ok=True)
    remove_stale_temps(Path(emb_dir))
