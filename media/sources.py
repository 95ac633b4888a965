"""A catalogue as a list of (video_id, path): a folder searched recursively, or a manifest CSV/Parquet.

Id rules (README "Video ids"): a folder's file is identified by its path relative to the folder, without the
suffix (`cats/tabby.mp4` is `cats/tabby`), unless two files differ only in suffix, when both keep it
(`clip.mp4`, `clip.webm`). A manifest gives ids and paths explicitly; relative paths resolve against the
manifest's folder. Paths are absolute and resolved, so the embed job can tell a file it already holds under
another id (`vidstyle.embedder.pipeline`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vidstyle.core.errors import VidstyleError
from vidstyle.media.decode import ANIMATED_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES


class SourceError(VidstyleError, ValueError):
    """The SOURCE argument cannot be turned into a list of videos."""


@dataclass(frozen=True)
class VideoSource:
    video_id: str
    path: Path


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


def scan(source: Path, include_images: bool = False) -> Listing:
    """The videos (and, with `include_images`, images) of a folder (recursive) or a manifest CSV/Parquet."""
    source = Path(source)
    if source.is_dir():
        suffixes = VIDEO_SUFFIXES | (IMAGE_SUFFIXES | ANIMATED_SUFFIXES if include_images else frozenset())
        files, skipped = [], Counter()
        for p in sorted(source.rglob("*")):
            if not p.is_file() or p.name.startswith("."):
                continue
            if p.suffix.lower() in suffixes:
                files.append(p)
            else:
                skipped[p.suffix.lower()] += 1
        rel = [p.relative_to(source).as_posix() for p in files]
        stems = [r.rsplit(".", 1)[0] for r in rel]
        clash = {s for s in stems if stems.count(s) > 1}
        sources = [VideoSource(r if s in clash else s, p.resolve()) for r, s, p in zip(rel, stems, files)]
        return Listing(sources, skipped)
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
        paths = [(source.parent / str(p)).resolve() for p in table.column("path").to_pylist()]
        return Listing([VideoSource(i, p) for i, p in zip(ids, paths)])
    if source.exists():
        raise SourceError(f"SOURCE {source} must be a folder of videos or a .csv/.parquet manifest")
    raise SourceError(f"SOURCE {source} does not exist")


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
