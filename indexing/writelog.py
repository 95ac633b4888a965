"""The write-ahead log of INDEX_DIR: every add and delete, appended and fsynced before it is acknowledged.

Why a log: rewriting a million-vector index for each added video costs seconds; appending one record costs the
same at any catalogue size. The index files hold the catalogue as of the last compaction (the manifest names
the log and the last sequence number folded in); the log holds what came after. Opening INDEX_DIR replays the
records past that number, in order, so replay is idempotent however often a crash interrupts it.

Files: `wal-<log id>-<first seq>.log` segments. A compaction seals the open segment and starts the next one
(`rotate`), saves the index, then deletes the sealed segments (`drop_through`). The log id changes with each
fresh build, so the log of an index that was rebuilt in place is never replayed onto the new one.

Record: `<u32 length><u32 crc32>` then the payload: `<u32 header length>`, a JSON header (`seq`, `op`, `ids`,
`dims`) and, for an add, each space's float32 rows in header order. A crash mid-append leaves a torn last
record; it was never acknowledged, and the next writer cuts it off.

Writers: one process per INDEX_DIR holds `wal.lock` for as long as it runs (`WriteLog(...)`), or, when several
server processes share INDEX_DIR (`WriteLog(..., shared=True)`), each takes the lock only around a write
(`exclusive()`), first reading what the others appended (`read_new()`), so sequence numbers stay one series.
After every append the writer also stores the last seq in `wal.head` (a hint, not fsynced: the log is the
truth), so a process can tell with one read whether others wrote since it last looked (`head()`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from vidstyle.core.files import fsync_dir
from vidstyle.indexing.errors import IndexLoadError

log = logging.getLogger(__name__)

_FRAME = struct.Struct("<II")  # payload length, crc32 of the payload
_HEADER_LEN = struct.Struct("<I")
_SEGMENT = re.compile(r"^wal-([0-9a-f]+)-(\d{12})\.log$")
_HEAD = struct.Struct("<q")
HEAD_FILE = "wal.head"


class LogGap(IndexLoadError):
    """The records a reader needs next were folded into the index files and deleted by a compaction: it must
    load the new index files (and replay the log past them) instead."""


@dataclass(frozen=True)
class LogRecord:
    """One acknowledged write: `op` is "add" (with `vectors[space]`, one row per id) or "remove"."""

    seq: int
    op: str
    video_ids: list[str]
    vectors: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class _Segment:
    path: Path
    first_seq: int


def segments(index_dir: Path, log_id: str | None = None) -> list[_Segment]:
    """The log's segments in INDEX_DIR, oldest first (all logs' with `log_id` None)."""
    found = []
    for path in Path(index_dir).glob("wal-*.log"):
        match = _SEGMENT.match(path.name)
        if match and (log_id is None or match.group(1) == log_id):
            found.append(_Segment(path, int(match.group(2))))
    return sorted(found, key=lambda s: s.first_seq)


def encode(record: LogRecord) -> bytes:
    header = {"seq": record.seq, "op": record.op, "ids": record.video_ids}
    blocks = []
    if record.op == "add":
        header["dims"] = {space: int(rows.shape[1]) for space, rows in record.vectors.items()}
        blocks = [np.ascontiguousarray(rows, dtype="<f4").tobytes() for rows in record.vectors.values()]
    head = json.dumps(header, separators=(",", ":")).encode()
    payload = b"".join([_HEADER_LEN.pack(len(head)), head, *blocks])
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _decode(payload: bytes) -> LogRecord:
    (head_len,) = _HEADER_LEN.unpack_from(payload)
    header = json.loads(payload[_HEADER_LEN.size : _HEADER_LEN.size + head_len])
    ids = list(header["ids"])
    vectors: dict[str, np.ndarray] = {}
    offset = _HEADER_LEN.size + head_len
    for space, dim in header.get("dims", {}).items():
        size = len(ids) * dim * 4
        vectors[space] = np.frombuffer(payload, dtype="<f4", count=len(ids) * dim, offset=offset).reshape(-1, dim)
        offset += size
    return LogRecord(int(header["seq"]), header["op"], ids, vectors)


def _read_segment(path: Path, start: int = 0) -> tuple[list[LogRecord], int, int]:
    """The whole records of one segment from byte `start`, the offset just past them (a torn tail, or a
    record another process is still appending, lies beyond it) and the size read up to.

    LogGap when the segment is gone: a compaction in another process deleted it between the listing and the
    open, so what it held is in newer index files."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
    except FileNotFoundError:
        raise LogGap(f"{path}: deleted by a compaction while it was read") from None
    records, offset = [], 0
    while offset + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, offset)
        payload = data[offset + _FRAME.size : offset + _FRAME.size + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            break
        try:
            records.append(_decode(payload))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexLoadError(f"{path}: unreadable log record at byte {offset} ({exc})") from exc
        offset += _FRAME.size + length
    return records, start + offset, start + len(data)


def read(index_dir: Path, log_id: str | None, after_seq: int) -> Iterator[LogRecord]:
    """The records of log `log_id` past `after_seq`, in order; a torn tail is skipped (never acknowledged).

    IndexLoadError when a sealed segment is damaged or sequence numbers skip: acknowledged writes would be lost.
    """
    if log_id is None:
        return
    found = segments(index_dir, log_id)
    if found and found[0].first_seq > after_seq + 1:
        raise IndexLoadError(
            f"{index_dir}: the write-ahead log starts at seq {found[0].first_seq}, after the saved {after_seq}: a "
            "compaction replaced the index while it was read; open it again"
        )
    expected = None
    for i, segment in enumerate(found):
        records, valid, size = _read_segment(segment.path)
        if valid < size and i < len(found) - 1:
            raise IndexLoadError(
                f"{segment.path}: damaged write-ahead log segment (a later one exists); restore it or rebuild "
                "the index from the embeddings dataset (`vidstyle index build`)"
            )
        for record in records:
            if expected is not None and record.seq != expected:
                raise IndexLoadError(f"{segment.path}: write-ahead log jumps from seq {expected - 1} to {record.seq}")
            expected = record.seq + 1
            if record.seq > after_seq:
                yield record


class WriteLog:
    """The appendable end of one log. By default this process is INDEX_DIR's one writer (it holds `wal.lock`
    until `close()`); `shared=True`: several processes append, each under `exclusive()`. Callers serialise
    their own threads' appends."""

    def __init__(self, index_dir: Path, log_id: str, last_seq: int, *, shared: bool = False) -> None:
        """Open log `log_id` for appending after `last_seq` (the highest seq already applied)."""
        self.index_dir = Path(index_dir)
        self.log_id = log_id
        self.last_seq = last_seq
        self.shared = shared
        self._segment: Path | None = None  # the segment read up to `_offset` (just past record `last_seq`)
        self._offset = 0
        self._depth = 0  # exclusive() nesting in this process
        self._mutex = threading.RLock()
        self._head = os.open(self.index_dir / HEAD_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        if shared:
            self._lock = open(self.index_dir / "wal.lock", "a+")  # noqa: SIM115 - held until close()
            return
        self._lock = _lock_writer(self.index_dir)
        found = segments(self.index_dir, log_id)
        if found:
            current = found[-1]
            _, valid, _ = _read_segment(current.path)
            _cut_torn_tail(current.path, valid)
            self._segment, self._offset = current.path, valid
        else:
            self._start_segment(last_seq + 1)

    # -- several processes --------------------------------------------------------------------------------
    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold `wal.lock` (re-entrant in this process): no other process appends or rotates meanwhile. A no-op
        for the one-writer log, which holds it all along."""
        with self._mutex:
            if self.shared and self._depth == 0:
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self.shared and self._depth == 0:
                    fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def compaction(self) -> Iterator[bool]:
        """Whether this process may compact now (`wal.compact.lock`, not waited for: another process holding it
        is doing the same work)."""
        with open(self.index_dir / "wal.compact.lock", "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def head(self) -> int:
        """The last seq any process appended (as `wal.head` says; 0 when nothing was)."""
        data = os.pread(self._head, _HEAD.size, 0)
        return _HEAD.unpack(data)[0] if len(data) == _HEAD.size else 0

    def restart_at(self, seq: int) -> None:
        """Read on from just after `seq` (the seq of freshly loaded index files), wherever it lies."""
        self.last_seq, self._segment, self._offset = seq, None, 0

    def read_new(self) -> list[LogRecord]:
        """The whole records past `last_seq`, in order, and move past them; LogGap when a compaction already
        deleted the next ones (load the new index files, then `restart_at` their seq).

        The position moves only when every record was read: a compaction in another process may delete a
        segment between the listing and the read, and records taken from the segments before it but never
        returned would otherwise be skipped for good."""
        found = segments(self.index_dir, self.log_id)
        segment, offset, last_seq = self._segment, self._offset, self.last_seq
        if segment is not None and segment not in {s.path for s in found}:
            segment = None  # sealed and folded by a compaction; find our place again
        if segment is None:
            start = [s for s in found if s.first_seq <= last_seq + 1]
            if found and not start:
                raise LogGap(f"{self.index_dir}: records after seq {last_seq} were folded into new index files")
            if not start:
                return []
            segment, offset = start[-1].path, 0
        records: list[LogRecord] = []
        later = [s.path for s in found if s.path > segment]  # names sort by first seq (zero-padded)
        for path in [segment, *later]:
            got, end, _ = _read_segment(path, offset if path == segment else 0)
            segment, offset = path, end
            for record in got:
                if record.seq <= last_seq:
                    continue
                if record.seq != last_seq + 1:
                    raise IndexLoadError(f"{path}: write-ahead log jumps from seq {last_seq} to {record.seq}")
                records.append(record)
                last_seq = record.seq
        self._segment, self._offset, self.last_seq = segment, offset, last_seq
        return records

    # -- appending ------------------------------------------------------------------------------------------
    def _start_segment(self, first_seq: int) -> None:
        path = self.index_dir / f"wal-{self.log_id}-{first_seq:012d}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.index_dir)
        self._segment, self._offset = path, 0

    def append(self, op: str, video_ids: Sequence[str], vectors: Mapping[str, np.ndarray] | None = None) -> int:
        """Write one record after `last_seq` and fsync it; its seq once it is durable. Shared: call it inside
        `exclusive()`, after `read_new()` brought `last_seq` up to the log's end."""
        with self.exclusive():
            self._take_over_the_end("append")
            if self._segment is None or not self._segment.exists():
                self._start_segment(self.last_seq + 1)
            assert self._segment is not None
            seq = self.last_seq + 1
            data = encode(LogRecord(seq, op, list(video_ids), dict(vectors or {})))
            fd = os.open(self._segment, os.O_WRONLY | os.O_APPEND)
            try:
                written = os.write(fd, data)
                if written != len(data):  # a short write means the disk is full; undo the partial record
                    os.ftruncate(fd, self._offset)
                    raise OSError(f"{self._segment}: short write to the write-ahead log ({written}/{len(data)} bytes)")
                os.fdatasync(fd)
            finally:
                os.close(fd)
            self._offset += len(data)
            self.last_seq = seq
            os.pwrite(self._head, _HEAD.pack(seq), 0)
            return seq

    def _take_over_the_end(self, what: str) -> None:
        """Shared, inside `exclusive()`: every record the others appended is taken in, and a torn one a writer
        killed mid-append left (never acknowledged) is cut, so the log ends where this process writes next."""
        if not self.shared:
            return
        if self.read_new():
            raise RuntimeError(f"{what}() before taking in the records other processes appended (read_new)")
        if self._segment is not None and self._segment.exists():
            _cut_torn_tail(self._segment, self._offset)

    def rotate(self) -> int:
        """Seal the open segment and start the next; returns the last seq of the sealed ones.

        Shared: a torn record a writer killed mid-append left is cut first. Sealed with it, the segment would
        read as damaged (a later one exists) to every load and compaction after, and nothing would append past
        it to cut it."""
        with self.exclusive():
            self._take_over_the_end("rotate")
            sealed = self.last_seq
            self._start_segment(sealed + 1)
            return sealed

    def close(self) -> None:
        os.close(self._head)
        self._lock.close()  # releases the writer lock


def _cut_torn_tail(path: Path, valid: int) -> None:
    size = path.stat().st_size
    if valid < size:
        log.warning("%s: cutting off a torn last record (%d bytes)", path, size - valid)
        os.truncate(path, valid)


def _lock_writer(index_dir: Path) -> TextIO:
    """The open lock file, locked exclusively; IndexLoadError when another process writes to INDEX_DIR."""
    fh = open(index_dir / "wal.lock", "a+")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise IndexLoadError(
            f"{index_dir}: another process is writing to this index (it holds wal.lock); run one writer per "
            "INDEX_DIR, or serve it read-only with serve.workers > 1"
        ) from None
    return fh


def drop_through(index_dir: Path, log_id: str, seq: int) -> None:
    """After a save that folded in every record up to `seq`: delete the segments it made redundant, and the
    segments of any other log (left by an index rebuilt in place)."""
    for segment in segments(index_dir):
        match = _SEGMENT.match(segment.path.name)
        assert match is not None
        if match.group(1) != log_id or _last_seq_at_most(index_dir, segment, log_id, seq):
            segment.path.unlink(missing_ok=True)


def _last_seq_at_most(index_dir: Path, segment: _Segment, log_id: str, seq: int) -> bool:
    """Whether every record of `segment` is at or before `seq` (a later segment starts at or before seq + 1)."""
    later = [s for s in segments(index_dir, log_id) if s.first_seq > segment.first_seq]
    return bool(later) and later[0].first_seq <= seq + 1
