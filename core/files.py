"""Crash-safe file writes shared by every stage: write a temp file, fsync it, rename it over the target.

A reader sees the old file or the new one, never a torn one; a crash leaves at most a stray `.*.tmp`
file, which readers ignore (pyarrow skips names starting with "." and "_").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success fsync it and rename it to `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)`, then publish the result at `target` atomically."""
    with atomic_path(target) as tmp:
        write(tmp)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    atomic_write(target, lambda tmp: tmp.write_bytes(data))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def remove_stale_temps(folder: Path) -> None:
    """Delete temp files a crashed writer left behind."""
    for stray in Path(folder).glob(".*.tmp"):
        stray.unlink(missing_ok=True)
