"""Shared fixtures: real H.264 videos made by the tests, embedded with the offline ImageNet backbone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.media import CONTENTS, LOOKS, photo
from tests.support.paths import OFFLINE_CONFIG
from tests.support.style import TINY, tiny_config
from vidstyle.core.settings import Settings, load_settings


@pytest.fixture(scope="session")
def offline_settings() -> Settings:
    return load_settings(OFFLINE_CONFIG)


@pytest.fixture(scope="session")
def sample_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 contents x 4 looks, 3 s each at 10 fps, one keyframe per second."""
    from vidstyle.media.samples import make_catalogue

    out = tmp_path_factory.mktemp("catalogue")
    make_catalogue(out, CONTENTS, LOOKS, seed=1)
    return out


@pytest.fixture(scope="session")
def embedder(offline_settings: Settings):
    from vidstyle.embedder.model import Embedder

    emb = Embedder(offline_settings)
    yield emb
    emb.close()


@pytest.fixture(scope="session")
def embedded_catalogue(sample_catalogue: Path, offline_settings: Settings, embedder, tmp_path_factory) -> Path:
    from vidstyle.embedder.pipeline import embed

    out = tmp_path_factory.mktemp("emb")
    embed(sample_catalogue, out, offline_settings, progress=False, embedder=embedder)
    return out


# -- learned style (CIN): a briefly trained tiny checkpoint ---------------------------------------------------

@pytest.fixture(scope="session")
def tiny_frames() -> tuple[np.ndarray, np.ndarray]:
    contents = np.stack([photo(n, TINY) for n in ("cat", "coffee", "astronaut", "rocket")])
    styles = np.stack([photo("china", TINY, look) for look in ("thermal", "duotone")])
    return contents, styles


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory: pytest.TempPathFactory, tiny_frames, offline_settings: Settings) -> Path:
    """A CIN checkpoint after 30 steps on 32-px images (seconds on a CPU)."""
    from vidstyle.styletransfer.train import train

    contents, styles = tiny_frames
    out = tmp_path_factory.mktemp("cin") / "tiny.pt"
    train(contents, styles, out, tiny_config(), offline_settings, device="cpu", progress=False, threads=1)
    return out
