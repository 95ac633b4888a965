"""The embeddings dataset (EMB_DIR) as the service sees it: where each video's row is, its thumbnails, and writes.

The dataset is the source of truth for what the catalogue holds: the service writes a video's row there first
and only then updates the index, so after a crash the index can be brought back in line from the dataset
(`WritePath.reconcile`). Parts are immutable for the embedding job; the service changes one only to delete a row,
by rewriting that part atomically (temp file, fsync, rename), so every reader sees the old part or the new one.
With several server processes, each keeps its own entries and `refresh()`es them from the parts on disk after
another process wrote (the caller serialises writes across processes).
A replaced video's old row is deleted before its new part is published: a crash in between loses the video
(the client got an error and retries) but never leaves two rows with the same `video_id`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from vidstyle.embedder import dataset
from vidstyle.embedder.copy_background import BackgroundScores, packaged
from vidstyle.service.api.errors import Conflict

V = TypeVar("V")


@dataclass(frozen=True)
class Entry:
    part: str  # file name of the part inside EMB_DIR
    n_frames: int


@dataclass(frozen=True)
class Media:
    frame_times: list[float]
    thumbnails: list[bytes]
    copy_descriptors: np.ndarray | None = None  # (keyframes, dim); None in parts written before they existed
    copy_background: float | None = None  # stored against the packaged background set; None: none stored


class Catalog:
    """Index of EMB_DIR's ok rows by `video_id`, with an LRU cache of parts' thumbnails (read on demand)."""

    def __init__(self, emb_dir: Path, cached_parts: int = 64) -> None:
        self.emb_dir = Path(emb_dir)
        self._entries: dict[str, Entry] = {}
        self._models: set[str] = set()
        self._media: OrderedDict[str, dict[str, Media]] = OrderedDict()
        self._cached_parts = cached_parts
        self._cache_lock = threading.Lock()
        self._scan_lock = threading.Lock()
        self._stamps: dict[str, tuple[int, int, int]] = {}  # part name -> (inode, mtime, size) when last read
        self._outdated: set[str] = set()  # parts without copy descriptors of this version (`outdated_parts`)
        self._backgrounds = BackgroundScores(self._stored_backgrounds, self.copy_descriptors)

    # -- reading ---------------------------------------------------------------------------------------------

    def load(self) -> None:
        """(Re)read which part holds each ok row; only small columns, so it stays cheap at a million rows."""
        dataset.prepare(self.emb_dir)
        with self._scan_lock:
            self._entries, self._models, self._stamps, self._outdated = {}, set(), {}, set()
            self._scan()
        with self._cache_lock:
            self._media.clear()

    def refresh(self) -> None:
        """Take in the parts other processes wrote, rewrote or deleted since the last look (several server
        processes share EMB_DIR); only those parts are read."""
        with self._scan_lock:
            self._scan()

    def _scan(self) -> None:
        """Bring the entries in line with the parts on disk, reading the parts that are new or changed."""
        now = {}
        for path in dataset.parts(self.emb_dir):
            try:
                st = Path(path).stat()
            except FileNotFoundError:
                continue  # deleted between the listing and here
            now[Path(path).name] = (st.st_ino, st.st_mtime_ns, st.st_size)
        changed = {name for name, stamp in now.items() if self._stamps.get(name) != stamp}
        gone = set(self._stamps) - set(now)
        if not changed and not gone:
            return
        stale = changed | gone
        self._entries = {vid: e for vid, e in self._entries.items() if e.part not in stale}
        self._outdated -= gone
        for name in sorted(changed):
            try:
                table = dataset.read_part(self.emb_dir, name, ["video_id", "status", "n_frames", "model"])
            except (FileNotFoundError, pa.ArrowInvalid):
                now.pop(name)  # rewritten or deleted meanwhile: read at the next look
                continue
            self._models.update(table.column("model").unique().to_pylist())
            if dataset.current_descriptors(table.schema):
                self._outdated.discard(name)
            else:
                self._outdated.add(name)
            for vid, status, n in zip(
                table.column("video_id").to_pylist(),
                table.column("status").to_pylist(),
                table.column("n_frames").to_pylist(),
            ):
                if status == "ok":
                    self._entries[vid] = Entry(name, int(n or 0))
        self._stamps = now
        with self._cache_lock:
            for name in stale:
                self._media.pop(name, None)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, video_id: str) -> Entry | None:
        return self._entries.get(video_id)

    def ids(self) -> set[str]:
        return set(self._entries)

    @property
    def models(self) -> set[str]:
        return set(self._models)

    @property
    def outdated_parts(self) -> set[str]:
        """Parts whose copy descriptors are missing or of an earlier `copy_descriptor.VERSION`: their videos get
        no copy verdict (`recommend` keeps them, with `copy_score` null) until they are re-embedded."""
        return set(self._outdated)

    def media(self, video_id: str) -> Media | None:
        entry = self._entries.get(video_id)
        if entry is None:
            return None
        part = self._part_media(entry.part)
        return part.get(video_id)

    def copy_descriptors(self, video_ids: Iterable[str]) -> dict[str, np.ndarray | None]:
        """The stored copy descriptors of `video_ids` (None: unknown), from the same part cache as thumbnails."""
        return self._from_media(video_ids, lambda media: media.copy_descriptors)

    def copy_backgrounds(self, video_ids: Iterable[str]) -> dict[str, float | None]:
        """The background scores of `video_ids` (`vidstyle.embedder.copy_background`): stored at embed time, or
        for rows without one (older parts) computed from their descriptors on first use and kept (None: unknown)."""
        return self._backgrounds(list(video_ids))

    def _stored_backgrounds(self, video_ids: Iterable[str]) -> dict[str, float | None]:
        return self._from_media(video_ids, lambda media: media.copy_background)

    def _from_media(self, video_ids: Iterable[str], field: Callable[[Media], V]) -> dict[str, V | None]:
        """`field` of each video's `Media` (None for a video not in the catalogue)."""
        out: dict[str, V | None] = {}
        for vid in video_ids:
            media = self.media(vid)
            out[vid] = field(media) if media is not None else None
        return out

    def _part_media(self, name: str) -> dict[str, Media]:
        with self._cache_lock:
            if name in self._media:
                self._media.move_to_end(name)
                return self._media[name]
        columns = ["video_id", "frame_times", "thumbnails"]
        try:  # parts from before copy descriptors or background scores lack them: unknown, or computed on use
            table = dataset.read_part(self.emb_dir, name, columns,
                                      optional=[dataset.COPY_COLUMN, dataset.COPY_BACKGROUND_COLUMN])
        except (FileNotFoundError, pa.ArrowInvalid):
            return {}  # deleted or rewritten under us; the next lookup sees the new entry
        media = {
            vid: Media([float(t) for t in (times or [])], list(thumbs or []), desc, background)
            for vid, times, thumbs, desc, background in zip(
                table.column("video_id").to_pylist(),
                table.column("frame_times").to_pylist(),
                table.column("thumbnails").to_pylist(),
                dataset.stored_descriptors(table),
                dataset.stored_backgrounds(table, packaged().sha256),
            )
        }
        with self._cache_lock:
            self._media[name] = media
            while len(self._media) > self._cached_parts:
                self._media.popitem(last=False)
        return media

    def vectors(self, video_ids: Iterable[str], spaces: Iterable[str]) -> tuple[list[str], dict[str, np.ndarray]]:
        """The stored vectors of `video_ids` (those present), per space, for re-adding rows to the index."""
        wanted = set(video_ids)
        spaces = list(spaces)
        by_part: dict[str, list[str]] = {}
        for vid in wanted:
            if (entry := self._entries.get(vid)) is not None:
                by_part.setdefault(entry.part, []).append(vid)
        ids: list[str] = []
        blocks: dict[str, list[np.ndarray]] = {s: [] for s in spaces}
        for name, vids in sorted(by_part.items()):
            got, matrices = dataset.part_vectors(self.emb_dir, name, vids, spaces)
            ids.extend(got)
            for s in spaces:
                blocks[s].append(matrices[s])
        return ids, {s: np.concatenate(b) if b else np.zeros((0, 0), np.float32) for s, b in blocks.items()}

    # -- writing (the caller serialises writes) -------------------------------------------------------------

    def _part_damaged(self, video_id: str, part: str, what: str) -> Conflict:
        """Why a row cannot be changed when its part went missing or bad under the service: nothing is changed
        (no other row is touched, the index keeps the video), and the reason says how to get out of it."""
        return Conflict(
            f"cannot change video {video_id!r}: its part {part} of the embeddings dataset {self.emb_dir} {what}; "
            "restore the file and retry, or take it out of the folder and restart the service, which then "
            "brings the index in line with the dataset"
        )

    def add(self, row: dict[str, Any], dims: dict[str, int]) -> bool:
        """Publish `row` as a new part, replacing any existing row of its id; True when one was replaced."""
        video_id = row["video_id"]
        replaced = self.remove(video_id)
        part = dataset.write_part(self.emb_dir, [row], dims)
        self._entries[video_id] = Entry(part.name, int(row["n_frames"]))
        self._stamp(part.name)
        self._models.add(row["model"])
        return replaced

    def remove(self, video_id: str) -> bool:
        """Delete the row of `video_id` by rewriting its part without it (or deleting a part left empty)."""
        entry = self._entries.get(video_id)
        if entry is None:
            return False
        try:
            dataset.remove_row(self.emb_dir, entry.part, video_id)
        except FileNotFoundError as exc:
            raise self._part_damaged(video_id, entry.part, "was removed from it outside the service") from exc
        except (pa.ArrowInvalid, OSError) as exc:
            raise self._part_damaged(video_id, entry.part, f"is unreadable ({exc})") from exc
        del self._entries[video_id]
        self._backgrounds.forget(video_id)
        self._stamp(entry.part)
        with self._cache_lock:
            self._media.pop(entry.part, None)
        return True

    def _stamp(self, name: str) -> None:
        """After this process changed a part: its state on disk is already in the entries."""
        try:
            st = (self.emb_dir / name).stat()
            self._stamps[name] = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:  # a part left empty is deleted
            self._stamps.pop(name, None)
