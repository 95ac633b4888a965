"""The learned content head: the projection it fits, its checkpoint and place in the fingerprint, and a look family
it never saw, on real renderings through the real backbone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.core.settings import load_settings
from vidstyle.embedder.content_head import ContentHead, ContentHeadError, fit_projection, load_content_head
from vidstyle.embedder.train_content_head import (
    ContentHeadTraining,
    hand_content_vectors,
    scene_labels,
    train_content_head,
)
from vidstyle.embedder.train_style_head import render_training_frames
from vidstyle.media.looks import family_of, looks_in

TINY = ContentHeadTraining(groups=3, contents_per_group=3, looks_per_group=4, dim=8, seed=5)


def _nn_accuracy(z: np.ndarray, labels: np.ndarray) -> float:
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    sims = z @ z.T
    np.fill_diagonal(sims, -np.inf)
    return float((labels[sims.argmax(1)] == labels).mean())


def test_the_projection_discounts_what_varies_within_a_scene() -> None:
    """Scenes apart along a few axes, 'looks' moving every item far along others: the raw cosine is decided by the
    look, the projection's by the scene."""
    rng = np.random.default_rng(0)
    d, scenes, looks = 40, 30, 6
    scene_axes = rng.normal(size=(scenes, d)) * np.r_[np.ones(10), np.zeros(d - 10)]
    look_axes = rng.normal(size=(looks, d)) * np.r_[np.zeros(10), 4 * np.ones(d - 10)]
    x = (scene_axes[:, None] + look_axes[None]).reshape(-1, d) + 0.05 * rng.normal(size=(scenes * looks, d))
    labels = np.repeat(np.arange(scenes), looks)
    mean, proj = fit_projection(x, labels, shrinkage=0.1, dim=8)
    raw, projected = _nn_accuracy(x - x.mean(0), labels), _nn_accuracy((x - mean) @ proj, labels)
    print(f"1-NN scene accuracy: raw {raw:.2f}, projected {projected:.2f}")
    assert raw < 0.3 and projected > 0.95
    again = fit_projection(x, labels, shrinkage=0.1, dim=8)
    assert np.array_equal(again[1], proj)  # closed form: same data, same bits
    with pytest.raises(ContentHeadError):
        fit_projection(x, np.zeros(len(x)), 0.1, 8)


@pytest.mark.parametrize("composed", [0, 2])
def test_scene_labels_follow_the_renderers_order(composed: int) -> None:
    cfg = dataclasses.replace(TINY, groups=2, contents_per_group=2, looks_per_group=2, composed_looks=composed)
    data = render_training_frames(cfg.rendering(), 48)
    labels = scene_labels(data.groups, cfg.contents_per_group)
    assert len(np.unique(labels)) == cfg.groups * cfg.contents_per_group
    for label in np.unique(labels):  # one scene, each of its group's looks once
        assert sorted(data.labels[labels == label]) == sorted(set(data.labels[data.groups == label // 2]))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("content-head")
    settings = load_settings(OFFLINE_CONFIG)
    record = train_content_head(settings, root / "head.pt", TINY)
    return settings, root, record


@pytest.mark.slow
def test_fitting_is_reproducible_and_uses_training_looks_only(fitted) -> None:
    settings, root, record = fitted
    assert set(record["looks"]) <= set(looks_in("train"))
    assert record["scenes"] == TINY.groups * TINY.contents_per_group and record["dim"] == TINY.dim
    train_content_head(settings, root / "again.pt", TINY)
    assert (root / "head.pt").read_bytes() == (root / "again.pt").read_bytes()  # same command, same sha256
    left_out = sorted({family_of(name) for name in record["looks"]})[0]
    partial = train_content_head(settings, root / "lofo.pt", dataclasses.replace(TINY, exclude_families=(left_out,)))
    assert partial["frames"] < record["frames"] and all(family_of(n) != left_out for n in partial["looks"])


@pytest.mark.slow
def test_the_head_is_the_content_vector_and_enters_the_fingerprint(fitted) -> None:
    from vidstyle.embedder.model import Embedder

    settings, root, _ = fitted
    base = settings.model.model_copy(update={"content_head": None})
    plain = Embedder(settings.model_copy(update={"model": base}))
    with_head = base.model_copy(update={"content_head": str(root / "head.pt")})
    emb = Embedder(settings.model_copy(update={"model": with_head}))
    assert emb.dims["content"] == TINY.dim and plain.dims["content"] > TINY.dim
    assert emb.fingerprint != plain.fingerprint
    frames = np.random.default_rng(1).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    out = emb.features(frames)
    head = load_content_head(root / "head.pt")
    expected = head(torch.from_numpy(plain.features(frames)["content"])).numpy()
    assert np.allclose(out["content"], expected, atol=1e-5)
    assert np.allclose(np.linalg.norm(out["content"], axis=1), 1, atol=1e-5)
    assert np.array_equal(out["style_stats"], plain.features(frames)["style_stats"])  # style untouched
    other = base.model_copy(update={"content_head": str(root / "head.pt"), "content_edges": False})
    with pytest.raises(ContentHeadError, match="fitted on other features"):
        Embedder(settings.model_copy(update={"model": other}))
    (root / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ContentHeadError, match="cannot read content head"):
        load_content_head(root / "junk.pt")
    saved = load_content_head(root / "head.pt")
    assert isinstance(saved, ContentHead) and len(saved.sha256) == 64


@pytest.mark.slow
def test_scenes_in_a_held_out_family_are_matched_well_above_chance(fitted) -> None:
    """A head fitted on training families only; scenes rendered in held-out looks: 1-NN scene accuracy, with the
    nearest other frame of the same look ruled out (so a look match cannot pass for a scene match)."""
    settings, root, _ = fitted
    from vidstyle.backbones import load_backbone
    from vidstyle.embedder.features import FeatureExtractor

    m = settings.model.model_copy(update={"content_head": None, "style_head": None, "style_representation": "stats"})
    fx = FeatureExtractor(load_backbone(m.backbone, m.weights_path), m)
    cfg = ContentHeadTraining(groups=2, contents_per_group=4, looks_per_group=3, split="heldout", seed=11)
    data = render_training_frames(cfg.rendering(), m.input_size)
    scenes = scene_labels(data.groups, cfg.contents_per_group)
    head = load_content_head(root / "head.pt")
    x = hand_content_vectors(fx, data.frames)
    z = head(torch.from_numpy(x)).numpy()
    sims = z @ z.T
    sims[data.labels[:, None] == data.labels[None, :]] = -np.inf
    acc = float((scenes[sims.argmax(1)] == scenes).mean())
    chance = 1 / (len(np.unique(scenes)) - 1)
    print(f"held-out families, 1-NN scene accuracy {acc:.2f} (chance {chance:.2f})")
    assert acc > 3 * chance


def test_keeping_every_axis_gives_a_projection_as_steady_as_its_data() -> None:
    """With every axis kept the between-scene rotation changes no cosine; its nearly tied axes would turn freely
    under float rounding of the data (a rerun of the content pass), so the projection leaves it out."""
    rng = np.random.default_rng(1)
    d, scenes, looks = 40, 30, 6
    x = (rng.normal(size=(scenes, 1, d)) * np.r_[np.ones(10), np.zeros(d - 10)] + rng.normal(size=(1, looks, d))
         ).reshape(-1, d) + 0.05 * rng.normal(size=(scenes * looks, d))
    labels = np.repeat(np.arange(scenes), looks)
    _, full = fit_projection(x, labels, shrinkage=0.1, dim=d)
    _, nudged = fit_projection(x * (1 + 1e-9 * rng.normal(size=x.shape)), labels, shrinkage=0.1, dim=d)
    change = np.abs(full - nudged).max() / np.abs(full).max()
    print(f"largest change of the projection under a 1e-9 nudge of the data: {change:.1e} of its largest entry")
    assert change < 1e-5
