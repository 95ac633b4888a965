"""A catalogue as a list of (video_id, path): a folder searched recursively, or a manifest CSV/Parquet.

Ids of a folder's files are their paths relative to the folder, without the suffix (`cats/tabby.mp4` is
`cats/tabby`), unless two files differ only in suffix, when both keep it. A manifest gives ids and paths
explicitly; relative paths resolve against the manifest's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vidstyle.core.errors import VidstyleError
from vidstyle.media.decode import IMAGE_SUFFIXES, VIDEO_SUFFIXES


class SourceError(VidstyleError, ValueError):
    """The SOURCE argument cannot be turned into a list of videos."""


@dataclass(frozen=True)
class VideoSource:
    video_id: str
    path: Path


def list_sources(source: Path, include_images: bool = False) -> list[VideoSource]:
    """Videos under a folder (recursive; id = relative path without suffix) or in a manifest CSV/Parquet."""
    source = Path(source)
    if source.is_dir():
        suffixes = VIDEO_SUFFIXES | (IMAGE_SUFFIXES if include_images else frozenset())
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        rel = [p.relative_to(source).as_posix() for p in files]
        stems = [r.rsplit(".", 1)[0] for r in rel]
        clash = {s for s in stems if stems.count(s) > 1}
        return [VideoSource(r if s in clash else s, p) for r, s, p in zip(rel, stems, files)]
    if source.suffix.lower() in {".csv", ".parquet"}:
        try:
            table = pq.read_table(source) if source.suffix.lower() == ".parquet" else pacsv.read_csv(source)
        except Exception as exc:  # noqa: BLE001 - any reader error is a bad manifest
            raise SourceError(f"cannot read manifest {source}: {exc}") from exc
        missing = {"video_id", "path"} - set(table.column_names)
        if missing:
            raise SourceError(f"manifest {source} lacks column(s) {sorted(missing)}")
        ids = [str(v) for v in table.column("video_id").to_pylist()]
        dupes = sorted({v for v in ids if ids.count(v) > 1})
        if dupes:
            raise SourceError(f"manifest {source} repeats video_id(s) {dupes[:5]}")
        paths = [source.parent / str(p) for p in table.column("path").to_pylist()]
        return [VideoSource(i, p) for i, p in zip(ids, paths)]
    if source.exists():
        raise SourceError(f"SOURCE {source} must be a folder of videos or a .csv/.parquet manifest")
    raise SourceError(f"SOURCE {source} does not exist")


def list_media(source: Path) -> list[VideoSource]:
    """Images and videos under a folder (recursive), or one image/video file."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
        return [VideoSource(source.stem, source)]
    if not source.is_dir():
        raise SourceError(f"{source} is neither a folder nor an image/video file")
    return list_sources(source, include_images=True)
