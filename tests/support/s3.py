"""A real S3-compatible server on 127.0.0.1 for the object-storage tests: moto's server mode, in a thread.

`s3_server()` starts it on a free loopback port and points the standard AWS environment at it (endpoint and
dummy credentials), so everything the tests start (decode workers, a CLI subprocess, local Ray workers) reaches it
as it would reach real S3, through `vidstyle.core.storage`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.server import free_port

BUCKET = "vidstyle-test"


@contextmanager
def s3_server() -> Iterator[str]:
    """Yields the server's endpoint URL, with the AWS environment set for it and a bucket `BUCKET` made."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] (dev extra) runs the local S3 server")
    import pyarrow.fs as pafs

    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        pafs.S3FileSystem(endpoint_override=endpoint, allow_bucket_creation=True).create_dir(BUCKET)
        try:
            yield endpoint
        finally:
            server.stop()


def upload(local: Path, url: str) -> None:
    """Copy a local folder (recursive) or file to the prefix or object `url`."""
    from vidstyle.core import storage

    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    for path in files:
        target = url if local.is_file() else storage.join(url, path.relative_to(local).as_posix())
        storage.put(target, path.read_bytes())
