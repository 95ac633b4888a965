"""Shared fixtures: real H.264 videos made by the tests, embedded with the offline ImageNet backbone."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedder.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
OFFLINE_CONFIG = REPO / "configs" / "offline.yaml"

CONTENTS = ("cat", "coffee", "astronaut", "city")
LOOKS = ("natural", "sepia", "pencil", "poster")


@pytest.fixture(scope="session")
def offline_settings() -> Settings:
    return load_settings(OFFLINE_CONFIG)


@pytest.fixture(scope="session")
def sample_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 contents x 4 looks, 3 s each at 10 fps, one keyframe per second."""
    from evaluation.synthetic import make_catalogue

    out = tmp_path_factory.mktemp("catalogue")
    make_catalogue(out, CONTENTS, LOOKS, seed=1)
    return out


@pytest.fixture(scope="session")
def embedder(offline_settings: Settings):
    from embedder.pipeline import Embedder

    emb = Embedder(offline_settings)
    yield emb
    emb.close()


@pytest.fixture(scope="session")
def embedded_catalogue(sample_catalogue: Path, offline_settings: Settings, embedder, tmp_path_factory) -> Path:
    from embedder.pipeline import embed

    out = tmp_path_factory.mktemp("emb")
    embed(sample_catalogue, out, offline_settings, progress=False, embedder=embedder)
    return out
