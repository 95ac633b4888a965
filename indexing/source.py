"""Read the vectors the indexes hold from an embeddings dataset (EMB_DIR).

Only rows with status 'ok' count; temp files (names starting with "." or "_") are skipped, as pyarrow does.
Only the needed columns are read, so thumbnails never leave the disk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from vidstyle.indexing.errors import EmbeddingsError


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
        raise EmbeddingsError(f"column {name!r} has {array.null_count} null vectors in rows with status 'ok'")
    if pa.types.is_fixed_size_list(array.type):
        dim = array.type.list_size
    elif pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
        dim = int(lengths[0]) if n else 0
        if n and (lengths != dim).any():
            raise EmbeddingsError(f"column {name!r} holds vectors of different lengths")
    else:
        raise EmbeddingsError(f"column {name!r} is {array.type}, not a list of floats")
    values = array.flatten().to_numpy(zero_copy_only=False)
    if not np.issubdtype(values.dtype, np.floating):
        raise EmbeddingsError(f"column {name!r} holds {values.dtype}, not floats")
    return np.ascontiguousarray(values.reshape(n, dim), dtype=np.float32)


def read_embeddings(emb_dir: Path, columns: Mapping[str, str]) -> Embeddings:
    """The ok rows of `emb_dir`: ids, model fingerprint and one matrix per space (`columns`: space -> column)."""
    emb_dir = Path(emb_dir)
    if not emb_dir.is_dir():
        raise EmbeddingsError(f"{emb_dir}: no such embeddings directory")
    try:
        dataset = ds.dataset(emb_dir, format="parquet", ignore_prefixes=[".", "_"])
    except (pa.ArrowInvalid, OSError) as exc:
        raise EmbeddingsError(f"{emb_dir}: cannot read the embeddings dataset: {exc}") from exc
    if not dataset.files:
        raise EmbeddingsError(f"{emb_dir}: no Parquet files (run `vidstyle embed` first)")
    wanted = ["video_id", "status", "model", *dict.fromkeys(columns.values())]
    missing = [c for c in wanted if c not in dataset.schema.names]
    if missing:
        raise EmbeddingsError(f"{emb_dir}: the embeddings dataset lacks column(s) {', '.join(missing)}")
    try:
        table = dataset.to_table(columns=wanted, filter=pc.field("status") == "ok")
    except (pa.ArrowInvalid, OSError) as exc:
        raise EmbeddingsError(f"{emb_dir}: cannot read the embeddings dataset: {exc}") from exc
    if table.num_rows == 0:
        raise EmbeddingsError(f"{emb_dir}: no videos with status 'ok' to index")

    video_ids = table.column("video_id").to_pylist()
    if None in video_ids:
        raise EmbeddingsError(f"{emb_dir}: rows with a null video_id")
    if len(set(video_ids)) != len(video_ids):
        dupes = sorted(v for v, count in Counter(video_ids).items() if count > 1)
        raise EmbeddingsError(f"{emb_dir}: {len(dupes)} duplicate video_id values, e.g. {dupes[:3]}")
    models = pc.unique(table.column("model")).to_pylist()
    if len(models) != 1 or not models[0]:
        raise EmbeddingsError(
            f"{emb_dir}: embeddings come from {len(models)} model fingerprints {models[:3]}; "
            "re-embed everything with one config"
        )
    vectors = {space: vectors_from_arrow(table.column(col), col) for space, col in columns.items()}
    return Embeddings(video_ids=video_ids, fingerprint=models[0], vectors=vectors)
