"""Object storage beside local paths: `s3://bucket/key` and `gs://bucket/key` URLs through `pyarrow.fs`.

A *location* is a local `Path` or a URL kept as a `str` (a `Path` would fold `s3://` into `s3:/`); `location()`
tells them apart once, where text comes in (a CLI argument, a manifest cell, a Parquet `path` column).
Object stores have no rename, so a write here is one whole object (`put`): one PUT below pyarrow's part size,
a multipart upload above it, and either way readers see the whole object or none of it.

Where and as whom comes from the standard environment, so decode workers, Ray workers and the driver agree without
being told: `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`) for an S3-compatible server, `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION` or a profile for S3;
`GOOGLE_APPLICATION_CREDENTIALS` for Cloud Storage.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from vidstyle.core.errors import VidstyleError

Location = Path | str
_URL = re.compile(r"^(s3|gs|gcs)://", re.IGNORECASE)
_CHUNK = 1 << 20


class StorageError(VidstyleError, OSError):
    """An object-store location that cannot be read or written (missing bucket, object, credentials)."""


def is_url(location: Location) -> bool:
    return isinstance(location, str) and bool(_URL.match(location))


def location(text: str | Path) -> Location:
    """A URL stays a `str`; anything else is a local `Path`."""
    return text if isinstance(text, str) and is_url(text) else Path(text)


def join(url: str, *names: str) -> str:
    return "/".join([url.rstrip("/"), *(n.strip("/") for n in names)])


def name(url: str) -> str:
    """The last part of a URL (an object's file name)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def parent(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[0]


def _s3() -> pafs.S3FileSystem:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    # allow_delayed_open: a small object goes up as one PUT when closed, not as a multipart upload begun at open.
    return pafs.S3FileSystem(endpoint_override=endpoint, allow_delayed_open=True)


def filesystem(url: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem of `url` and the path inside it (`bucket/key`)."""
    scheme, _, path = url.partition("://")
    try:
        fs = _s3() if scheme.lower() == "s3" else pafs.GcsFileSystem()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises plain errors for a bad endpoint or environment
        raise StorageError(f"cannot open {scheme}:// storage: {exc}") from exc
    return fs, path.rstrip("/")


@dataclass(frozen=True)
class ObjectInfo:
    url: str
    size: int


def list_objects(url: str) -> list[ObjectInfo]:
    """Every object under the prefix `url` (recursive), sorted by URL; empty when there is none."""
    fs, path = filesystem(url)
    scheme = url.partition("://")[0]
    try:
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise StorageError(f"cannot list {url}: {exc}") from exc
    found = [ObjectInfo(f"{scheme}://{i.path}", i.size or 0) for i in infos if i.type == pafs.FileType.File]
    return sorted(found, key=lambda o: o.url)


def is_object(url: str) -> bool:
    fs, path = filesystem(url)
    try:
        return fs.get_file_info(path).type == pafs.FileType.File
    except OSError as exc:
        raise StorageError(f"cannot reach {url}: {exc}") from exc


def read_bytes(url: str) -> bytes:
    """The whole object; FileNotFoundError when there is none."""
    fs, path = filesystem(url)
    with fs.open_input_stream(path) as stream:
        return stream.read()


def put(url: str, data: bytes) -> None:
    """Write the whole object in one go: readers see the old object, or none, until it is complete."""
    fs, path = filesystem(url)
    try:
        with fs.open_output_stream(path) as stream:
            stream.write(data)
    except OSError as exc:
        raise StorageError(f"cannot write {url}: {exc}") from exc


def delete(url: str) -> None:
    fs, path = filesystem(url)
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(path)


def fetch(url: str, dest: Path, max_bytes: int) -> int:
    """Copy the object at `url` to the local file `dest`, refusing (StorageError) one over `max_bytes` before
    copying anything, or as soon as the copy passes it; returns the bytes copied. Removes `dest` on failure."""
    fs, path = filesystem(url)
    try:
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            raise StorageError(f"no such object {url}")
        if info.size is not None and info.size > max_bytes:
            raise StorageError(_too_big(info.size, max_bytes))
        copied = 0
        with fs.open_input_stream(path) as source, open(dest, "wb") as out:
            while chunk := source.read(_CHUNK):
                copied += len(chunk)
                if copied > max_bytes:
                    raise StorageError(_too_big(copied, max_bytes))
                out.write(chunk)
        return copied
    except StorageError:
        dest.unlink(missing_ok=True)
        raise
    except OSError as exc:
        dest.unlink(missing_ok=True)
        raise StorageError(f"cannot read {url}: {exc}") from exc


def _too_big(nbytes: int, max_bytes: int) -> str:
    return (f"file is {nbytes / 2**20:.0f} MiB or more, over the {max_bytes / 2**20:.0f} MiB limit "
            "(decode.max_file_mb)")
