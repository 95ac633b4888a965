"""Service fixtures: one real index of the embedded sample catalogue, copied for each server (servers write)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, build_index, copy_catalogue
from vidstyle.core.settings import Settings


@pytest.fixture(scope="session")
def served_index(embedded_catalogue: Path, offline_settings: Settings, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Path, Path]:
    """(EMB_DIR, INDEX_DIR) built once, side by side (the manifest records the dataset relative to the index,
    so a copy of both folders stays a pair); copy before serving, since servers write to them."""
    base = tmp_path_factory.mktemp("service-base")
    emb_dir, index_dir = base / "emb", base / "index"
    shutil.copytree(embedded_catalogue, emb_dir)
    build_index(emb_dir, index_dir, offline_settings)
    return emb_dir, index_dir


@pytest.fixture(scope="module")
def server_dirs(served_index: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return copy_catalogue(*served_index, tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def server(server_dirs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _, index = server_dirs
    # No --emb-dir: the server finds the dataset from the index manifest, as `vidstyle serve INDEX_DIR` does.
    srv = Server(index, None, tmp_path_factory.mktemp("logs") / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture()
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60.0) as c:
        yield c
