"""`vidstyle eval`'s hook for the N-style methods: with `stylize.checkpoints` set, every embedded file also gets
the known-style representations of those models (by_representation scores them), decoded as the embedder
decodes it, cached by the checkpoints' bytes; without checkpoints nothing changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.media import photo
from tests.support.style import tiny_config
from vidstyle.core.settings import Settings, StylizeSettings
from vidstyle.evaluation.embedding import FileEmbedding
from vidstyle.evaluation.known_styles import add_known_style_vectors
from vidstyle.media.decode import decode_file
from vidstyle.styletransfer.checkpoint import CheckpointError
from vidstyle.styletransfer.represent import known_style_models
from vidstyle.styletransfer.train import train


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tiny_frames, offline_settings) -> dict[str, Path]:
    """A cin and a stylebank model after 2 steps on 32-px images (the vectors need trained files, not quality)."""
    contents, styles = tiny_frames
    out = {}
    for method in ("cin", "stylebank"):
        out[method] = tmp_path_factory.mktemp(method) / f"{method}.pt"
        train(contents, styles, out[method], tiny_config(method=method, steps=2), offline_settings, device="cpu",
              progress=False, threads=1)
    return out


def with_checkpoints(settings: Settings, checkpoints: dict[str, Path]) -> Settings:
    return settings.model_copy(update={"stylize": StylizeSettings(checkpoints=checkpoints)})


def images(folder: Path) -> dict[Path, FileEmbedding]:
    """Two real PNG files and one that failed to embed."""
    out = {}
    for name, look in (("cat", "thermal"), ("coffee", "duotone")):
        path = folder / f"{name}.png"
        if not path.exists():  # written once: a rewrite is a new file to the cache
            Image.fromarray(photo(name, 64, look)).save(path)
        out[path] = FileEmbedding(path, {"style": np.ones(3, np.float32)}, None)
    out[folder / "gone.mp4"] = FileEmbedding(folder / "gone.mp4", {}, None, "cannot read file")
    return out


@pytest.mark.slow
def test_known_style_vectors_join_the_embeddings_and_are_cached(tmp_path, checkpoints, offline_settings) -> None:
    settings = with_checkpoints(offline_settings, checkpoints)
    emb = images(tmp_path)
    add_known_style_vectors(emb, settings, tmp_path / "cache")
    names = {"style_cin_fit", "style_cin_gammabeta", "style_stylebank_fit", "style_stylebank_bank"}
    models = known_style_models(settings)
    d = settings.decode
    for path, e in emb.items():
        if not e.ok:
            assert e.vectors == {}
            continue
        assert set(e.vectors) == {"style"} | names
        frames = decode_file(path, settings.model.input_size, d.max_frames, d.min_gap_s).frames
        expected = {f"style_{k}": v for m in models for k, v in m(frames).items()}
        for name in names:
            np.testing.assert_allclose(e.vectors[name], expected[name], rtol=1e-5, atol=1e-6)
        assert e.vectors["style_cin_fit"].shape == (2,) and e.vectors["style_stylebank_bank"].sum() == 1

    # A second run reads every vector from the cache (nothing rewritten); another checkpoint is another cache.
    (cache,) = (tmp_path / "cache").glob("*.parquet")
    stamp = cache.stat().st_mtime_ns
    again = images(tmp_path)
    add_known_style_vectors(again, settings, tmp_path / "cache")
    assert cache.stat().st_mtime_ns == stamp
    for path, e in again.items():
        for name in names & set(e.vectors):
            np.testing.assert_array_equal(e.vectors[name], emb[path].vectors[name])
    add_known_style_vectors(images(tmp_path), with_checkpoints(offline_settings, {"cin": checkpoints["cin"]}),
                            tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.parquet"))) == 2


def test_nothing_configured_adds_nothing(tmp_path, offline_settings) -> None:
    emb = images(tmp_path)
    add_known_style_vectors(emb, offline_settings, tmp_path / "cache")
    assert all(set(e.vectors) <= {"style"} for e in emb.values()) and not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_a_checkpoint_of_another_method_is_refused(tmp_path, checkpoints, offline_settings) -> None:
    settings = with_checkpoints(offline_settings, {"cin": checkpoints["stylebank"]})
    with pytest.raises(CheckpointError, match="holds a stylebank model; give a cin checkpoint"):
        add_known_style_vectors(images(tmp_path), settings, None)
