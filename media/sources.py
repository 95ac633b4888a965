"""A catalogue as a list of (video_id, path): a folder searched recursively, or a manifest CSV/Parquet.

Id rules (README "Video ids"): a folder's file is identified by its path relative to the folder, without the
suffix (`cats/tabby.mp4` is `cats/tabby`), unless two files differ only in suffix, when both keep it
(`clip.mp4`, `clip.webm`). A manifest gives ids and paths explicitly; relative paths resolve against the
manifest's folder. Paths are absolute and resolved, so the embed job can tell a file it already holds under
another id (`vidstyle.embedder.pipeline`).

SOURCE may also be an object-store URL (`s3://bucket/prefix`, `gs://...`; `vidstyle.core.storage`): a prefix is
listed like a folder, a `.csv`/`.parquet` object is a manifest, and the videos' paths are URLs, which the decode
workers fetch. A local manifest may name URLs too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vidstyle.core import storage
from vidstyle.core.errors import VidstyleError
from vidstyle.media.decode import ANIMATED_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES


class SourceError(VidstyleError, ValueError):
    """The SOURCE argument cannot be turned into a list of videos."""


@dataclass(frozen=True)
class VideoSource:
    video_id: str
    path: storage.Location  # an absolute local path, or a URL


@dataclass
class Listing:
    """What a SOURCE holds: the files to embed, and the count of other files left out, by suffix."""

    sources: list[VideoSource]
    skipped: Counter[str] = field(default_factory=Counter)

    def skipped_line(self) -> str:
        """e.g. "3 files that are not videos (.gif 2, .txt 1)", or "" when none were left out."""
        if not self.skipped:
            return ""
        by_count = sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
        kinds = ", ".join(f"{suffix or '(no suffix)'} {n}" for suffix, n in by_count)
        total = sum(self.skipped.values())
        return f"{total} file{'s' if total > 1 else ''} that {'are' if total > 1 else 'is'} not videos ({kinds})"


def scan(source: storage.Location, include_images: bool = False) -> Listing:
    """The videos (and, with `include_images`, images) of a folder (recursive) or a manifest CSV/Parquet, local
    or in object storage."""
    if storage.is_url(source):
        return _scan_url(str(source), include_images)
    source = Path(source)
    if source.is_dir():
        files = [p for p in sorted(source.rglob("*")) if p.is_file() and not p.name.startswith(".")]
        return _listing([p.relative_to(source).as_posix() for p in files], [p.resolve() for p in files],
                        include_images)
    if _is_manifest(source.name):
        return _manifest(str(source), lambda: source.read_bytes(), lambda p: (source.parent / p).resolve())
    if source.exists():
        raise SourceError(f"SOURCE {source} must be a folder of videos or a .csv/.parquet manifest")
    raise SourceError(f"SOURCE {source} does not exist")


def _scan_url(url: str, include_images: bool) -> Listing:
    if _is_manifest(storage.name(url)) and storage.is_object(url):
        return _manifest(url, lambda: storage.read_bytes(url), lambda p: storage.join(storage.parent(url), p))
    prefix = url.rstrip("/") + "/"
    objects = [o.url for o in storage.list_objects(url) if not storage.name(o.url).startswith(".")]
    if not objects:
        raise SourceError(f"SOURCE {url} holds no objects (is the bucket or prefix right?)")
    return _listing([o[len(prefix):] for o in objects], objects, include_images)


def _listing(rel: Sequence[str], paths: Sequence[storage.Location], include_images: bool) -> Listing:
    """The id rules over a folder's files (`rel`: paths relative to it, '/'-separated)."""
    suffixes = VIDEO_SUFFIXES | (IMAGE_SUFFIXES | ANIMATED_SUFFIXES if include_images else frozenset())
    kept: list[tuple[str, storage.Location]] = []
    skipped: Counter[str] = Counter()
    for r, p in zip(rel, paths):
        suffix = Path(r).suffix.lower()
        if suffix in suffixes:
            kept.append((r, p))
        else:
            skipped[suffix] += 1
    stems = [r.rsplit(".", 1)[0] for r, _ in kept]
    clash = {s for s in stems if stems.count(s) > 1}
    return Listing([VideoSource(r if s in clash else s, p) for (r, p), s in zip(kept, stems)], skipped)


def _is_manifest(file_name: str) -> bool:
    return Path(file_name).suffix.lower() in {".csv", ".parquet"}


def _manifest(where: str, read: Callable[[], bytes], resolve: Callable[[str], storage.Location]) -> Listing:
    """A manifest's rows; a relative path resolves with `resolve` (against the manifest's folder), a URL stays."""
    try:
        data = pa.BufferReader(read())
        table = pq.read_table(data) if where.lower().endswith(".parquet") else pacsv.read_csv(data)
    except Exception as exc:  # noqa: BLE001 - any reader error is a bad manifest
        raise SourceError(f"cannot read manifest {where}: {exc}") from exc
    missing = {"video_id", "path"} - set(table.column_names)
    if missing:
        raise SourceError(f"manifest {where} lacks column(s) {sorted(missing)}")
    ids = [str(v) for v in table.column("video_id").to_pylist()]
    dupes = sorted({v for v in ids if ids.count(v) > 1})
    if dupes:
        raise SourceError(f"manifest {where} repeats video_id(s) {dupes[:5]}")
    paths = [str(p) if storage.is_url(str(p)) else resolve(str(p)) for p in table.column("path").to_pylist()]
    return Listing([VideoSource(i, p) for i, p in zip(ids, paths)])


def list_sources(source: Path, include_images: bool = False) -> list[VideoSource]:
    """`scan(...).sources`: the files to embed, with their ids."""
    return scan(source, include_images).sources


def list_media(source: Path) -> list[VideoSource]:
    """Images and videos under a folder (recursive), or one image/video file."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() in IMAGE_SUFFIXES | ANIMATED_SUFFIXES | VIDEO_SUFFIXES:
        return [VideoSource(source.stem, source)]
    if not source.is_dir():
        raise SourceError(f"{source} is neither a folder nor an image/video file")
    return list_sources(source, include_images=True)
