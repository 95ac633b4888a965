"""The learned style head: its loss, its training loop (loss falls, seeded, exact resume), its checkpoint, its place
in the fingerprint, and a held-out look family it never saw, on real renderings through the real backbone."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.backbones import load_backbone
from vidstyle.core.settings import load_settings
from vidstyle.embedder.features import FeatureExtractor, palette_concentration
from vidstyle.embedder.style_head import StyleHeadError, load_style_head
from vidstyle.embedder.train_style_head import (
    HeadTraining,
    drawing_on_none,
    embed_with_head,
    extract_blocks,
    render_training_frames,
    supcon_loss,
    train_style_head,
)
from vidstyle.media.looks import (
    COMPOSE_MARK,
    PALETTE_MARK,
    SPLITS,
    base_look,
    family_of,
    get_look,
    looks_in,
    source_families,
    variant_recolouring,
)

TINY = HeadTraining(groups=4, contents_per_group=3, looks_per_group=6, steps=40, group_batch=2, looks_batch=6,
                    per_look=3, hidden=64, out_dim=32, seed=3)


@pytest.mark.slow
def test_palette_variants_add_recoloured_copies_and_leave_the_base_data_alone() -> None:
    cfg = dataclasses.replace(TINY, groups=2, contents_per_group=2, palette_variants=2)
    data = render_training_frames(cfg, 48)
    plain = render_training_frames(dataclasses.replace(cfg, palette_variants=0), 48)
    n = len(plain.labels)
    assert np.array_equal(data.frames[:n], plain.frames) and np.array_equal(data.labels[:n], plain.labels)
    assert data.looks[: len(plain.looks)] == plain.looks
    variants = data.labels[n:]
    assert len(variants) == cfg.groups * cfg.palette_variants * cfg.contents_per_group
    for label, group in zip(variants, data.groups[n:]):
        name = data.looks[label]
        assert PALETTE_MARK in name and family_of(base_look(name)) in cfg.palette_families
        # the re-coloured instance sits in the group of its look: a hard negative only colour can separate
        assert base_look(name) in {data.looks[i] for i in plain.labels[plain.groups == group]}
    again = render_training_frames(cfg, 48, part="palette")
    assert np.array_equal(again.frames, data.frames[n:]) and np.array_equal(again.labels, variants)


@pytest.mark.slow
def test_composed_looks_add_pairs_of_training_families_and_leaving_a_family_out_drops_its_pairs() -> None:
    cfg = dataclasses.replace(TINY, groups=2, contents_per_group=2, looks_per_group=4, composed_looks=5)
    data = render_training_frames(cfg, 48)
    plain = render_training_frames(dataclasses.replace(cfg, composed_looks=0), 48)
    n = len(plain.labels)
    assert np.array_equal(data.frames[:n], plain.frames) and np.array_equal(data.labels[:n], plain.labels)
    composed = data.labels[n:]
    assert len(composed) == cfg.groups * cfg.composed_looks * cfg.contents_per_group
    train = set(SPLITS["train"])
    for label in composed:
        families = source_families(data.looks[label])
        assert len(families) == 2 and families[0] != families[1] and set(families) <= train
    again = render_training_frames(cfg, 48, part="composed")  # the cached part: same frames, labels by name
    assert np.array_equal(again.frames, data.frames[n:])
    assert [again.looks[i] for i in again.labels] == [data.looks[i] for i in composed]
    for left_out in SPLITS["train"]:
        keep = drawing_on_none(data, (left_out,))
        kept = {data.looks[i] for i in data.labels[keep]}
        dropped = {data.looks[i] for i in data.labels[~keep]}
        assert all(left_out not in source_families(name) for name in kept)
        assert all(left_out in source_families(name) for name in dropped)
    assert any(COMPOSE_MARK in data.looks[i] for i in data.labels[drawing_on_none(data, ("light",))])


def test_a_palette_shift_changes_colour_and_keeps_the_texture() -> None:
    scene = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    img = get_look("canvas").instance(1)(scene)
    shifted = variant_recolouring("canvas", 1)(img)
    lab, lab_shifted = (cv2.cvtColor(x, cv2.COLOR_RGB2LAB).astype(float) for x in (img, shifted))
    lightness = np.abs(lab[..., 0] - lab_shifted[..., 0]).mean()
    colour = np.abs(lab[..., 1:] - lab_shifted[..., 1:]).mean()
    print(f"palette shift: lightness moved {lightness:.1f}, colour moved {colour:.1f} (of 255)")
    assert colour > 10 and lightness < colour / 2
    assert np.corrcoef(lab[..., 0].ravel(), lab_shifted[..., 0].ravel())[0, 1] > 0.9
    assert np.array_equal(variant_recolouring("canvas", 1)(img), shifted)
    assert not np.array_equal(variant_recolouring("canvas", 2)(img), shifted)


def test_supcon_loss_prefers_embeddings_that_group_by_label() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    grouped = torch.nn.functional.normalize(torch.eye(3)[labels] + 0.01 * torch.randn(6, 3), dim=1)
    mixed = torch.nn.functional.normalize(torch.eye(3)[torch.tensor([0, 1, 2, 0, 1, 2])], dim=1)
    assert supcon_loss(grouped, labels, 0.1) < supcon_loss(mixed, labels, 0.1) - 1.0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run, its statistics cached for the runs that compare with it."""
    root = tmp_path_factory.mktemp("head")
    settings = load_settings(OFFLINE_CONFIG)
    record = train_style_head(settings, root / "head.pt", TINY, cache_dir=root / "cache", progress=False)
    return settings, root, record


@pytest.mark.slow
def test_training_lowers_the_loss_and_is_seeded(trained) -> None:
    settings, root, record = trained
    first, last = np.mean(record["losses"][:5]), np.mean(record["losses"][-5:])
    print(f"supcon loss {first:.3f} -> {last:.3f}")
    assert last < first - 0.1
    assert set(record["looks"]) == set(looks_in("train"))
    again = train_style_head(settings, root / "again.pt", TINY, cache_dir=root / "cache", progress=False)
    assert again["losses"] == record["losses"]
    assert (root / "head.pt").read_bytes() == (root / "again.pt").read_bytes()  # same command, same sha256
    a, b = load_style_head(root / "head.pt"), load_style_head(root / "again.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.slow
def test_training_with_palette_variants_is_seeded(trained) -> None:
    settings, root, record = trained
    cfg = dataclasses.replace(TINY, palette_variants=1)
    first = train_style_head(settings, root / "palette.pt", cfg, cache_dir=root / "cache", progress=False)
    again = train_style_head(settings, root / "palette2.pt", cfg, cache_dir=root / "cache", progress=False)
    assert first["frames"] == record["frames"] + cfg.groups * cfg.contents_per_group
    assert any(PALETTE_MARK in name for name in first["looks"])
    # a head trained without the option records none of it: its file is the same as before the option existed
    assert first["config"]["palette_variants"] == 1 and "palette_variants" not in record["config"]
    assert first["losses"] == again["losses"]
    assert (root / "palette.pt").read_bytes() == (root / "palette2.pt").read_bytes()
    assert (root / "palette.pt").read_bytes() != (root / "head.pt").read_bytes()


@pytest.mark.slow
def test_training_with_composed_looks_is_seeded_and_leaves_a_family_out(trained) -> None:
    settings, root, record = trained
    cfg = dataclasses.replace(TINY, composed_looks=2, exclude_families=("light",))
    first = train_style_head(settings, root / "composed.pt", cfg, cache_dir=root / "cache", progress=False)
    again = train_style_head(settings, root / "composed2.pt", cfg, cache_dir=root / "cache", progress=False)
    data = render_training_frames(cfg, 48)
    assert first["frames"] == int(drawing_on_none(data, ("light",)).sum())
    assert first["config"]["composed_looks"] == 2 and "composed_looks" not in record["config"]
    assert first["losses"] == again["losses"]
    assert (root / "composed.pt").read_bytes() == (root / "composed2.pt").read_bytes()


@pytest.mark.slow
def test_a_palette_gate_carries_the_histogram_at_a_weight_per_frame(trained) -> None:
    settings, root, record = trained
    cfg = dataclasses.replace(TINY, palette_gate=True)
    first = train_style_head(settings, root / "gated.pt", cfg, cache_dir=root / "cache", progress=False)
    assert first["config"]["palette_gate"] is True and "palette_gate" not in record["config"]
    head = load_style_head(root / "gated.pt")
    assert head.palette_gate and head.sha256 != load_style_head(root / "head.pt").sha256
    m = settings.model.model_copy(update={"style_head": None, "style_representation": "texture"})
    fx = FeatureExtractor(load_backbone(m.backbone, m.weights_path), m)
    frames = render_training_frames(dataclasses.replace(TINY, groups=2), m.input_size).frames
    x = extract_blocks(fx, frames)
    out = embed_with_head(head, x)
    assert out.shape == (len(x), TINY.out_dim + fx.block_layout()["rgb"])
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    rgb = x[:, head.rgb]
    assert rgb.shape[1] == fx.block_layout()["rgb"]
    palette = out[:, TINY.out_dim:]
    cos = (palette * rgb).sum(1) / (np.linalg.norm(palette, axis=1) * np.linalg.norm(rgb, axis=1))
    assert np.allclose(cos, 1, atol=1e-4)  # the palette part is the frame's own histogram, scaled
    share = np.linalg.norm(palette, axis=1)
    print(f"palette share of the gated vector: {share.min():.3f} .. {share.max():.3f}")
    assert share.max() - share.min() > 1e-3  # a weight per frame, not one for all


@pytest.mark.slow
def test_a_head_over_deep_taps_reads_them_only_where_it_is_used(trained) -> None:
    """Deep taps' statistics join the head's input as the last blocks; the production extractor computes them for
    such a head only, and without them every block, cache file and head is what it was."""
    from vidstyle.embedder.model import Embedder

    settings, root, record = trained
    cfg = dataclasses.replace(TINY, deep_taps=("block10",))
    first = train_style_head(settings, root / "deep.pt", cfg, cache_dir=root / "cache", progress=False)
    assert first["config"]["deep_taps"] == ("block10",) and "deep_taps" not in record["config"]
    assert np.mean(first["losses"][-5:]) < np.mean(first["losses"][:5]) - 0.1
    assert len(list((root / "cache").glob("style-head-data-*"))) == 1  # the base data reused, its key unchanged
    head = load_style_head(root / "deep.pt")
    assert list(head.layout)[-1] == "deep/block10" and list(head.layout)[:-1] == list(load_style_head(
        root / "head.pt").layout)
    model = settings.model.model_copy(update={"style_head": str(root / "deep.pt"), "style_representation": "learned",
                                              "style_head_stats": 0.0})
    emb = Embedder(settings.model_copy(update={"model": model}))
    assert emb.features.deep_taps == ("block10",)
    frames = np.random.default_rng(1).integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)
    out = emb.features(frames)["style_learned"][:, : TINY.out_dim]
    blocks = extract_blocks(emb.features, frames)  # the checkpoint round trip: the same vectors from the blocks
    assert np.allclose(embed_with_head(head, blocks), out, atol=1e-5)
    m = settings.model.model_copy(update={"style_head": None, "style_representation": "texture"})
    plain = FeatureExtractor(emb.features.backbone, m)
    assert plain.deep_taps == () and plain.colour_model is plain.style_model
    base = extract_blocks(plain, frames)
    assert np.array_equal(base, blocks[:, : base.shape[1]])  # the other blocks byte for byte, deep ones after them
    assert blocks.shape[1] == base.shape[1] + head.layout["deep/block10"]
    assert np.array_equal(extract_blocks(emb.features, frames, blocks="base"), base)


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_weights(trained) -> None:
    settings, root, record = trained
    out = root / "resumed.pt"
    stopped = train_style_head(settings, out, TINY, cache_dir=root / "cache", progress=False, checkpoint_every=10,
                               stop_after=25)
    assert stopped["stopped_at"] == 25 and not out.exists()
    # the last checkpoint is at step 20: the resumed run redoes 21..25 with the same batches
    done = train_style_head(settings, out, TINY, cache_dir=root / "cache", progress=False, checkpoint_every=10,
                            resume=out.with_name("resumed.pt.state"))
    assert done["losses"] == record["losses"]
    a, b = load_style_head(root / "head.pt"), load_style_head(out)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.slow
def test_the_head_enters_the_fingerprint_and_refuses_other_features(trained) -> None:
    from vidstyle.embedder.model import Embedder

    settings, root, _ = trained
    with_head = settings.model_copy(update={"model": settings.model.model_copy(
        update={"style_head": str(root / "head.pt"), "style_representation": "learned", "style_head_stats": 0.0})})
    without = settings.model_copy(update={"model": settings.model.model_copy(
        update={"style_head": None, "style_representation": "stats"})})
    emb = Embedder(with_head)
    assert emb.dims["style"] == emb.dims["style_learned"] == TINY.out_dim + emb.dims["style_stats"]
    assert emb.fingerprint != Embedder(without).fingerprint
    frames = np.random.default_rng(0).integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)
    out = emb.features(frames)
    assert np.allclose(np.linalg.norm(out["style_learned"], axis=1), 1, atol=1e-5)
    # the checkpoint round trip gives the same vectors as the head that was saved
    head = load_style_head(root / "head.pt")
    blocks = extract_blocks(emb.features, frames)
    # (style_head_stats 0: the head's output alone, the statistics' block left at zero)
    assert np.allclose(embed_with_head(head, blocks), out["style_learned"][:, : TINY.out_dim], atol=1e-5)
    assert not out["style_learned"][:, TINY.out_dim :].any()
    mixed = Embedder(with_head.model_copy(update={"model": with_head.model.model_copy(
        update={"style_head_stats": 1.0})}))
    assert mixed.fingerprint != emb.fingerprint
    both = mixed.features(frames)
    expected = np.concatenate([out["style_learned"][:, : TINY.out_dim], both["style_stats"]], 1) / 2**0.5
    assert np.allclose(both["style_learned"], expected, atol=1e-5)
    other = with_head.model_copy(update={"model": with_head.model.model_copy(update={"texture_scales": [1.0]})})
    with pytest.raises(StyleHeadError, match="trained on other features"):
        Embedder(other)
    (root / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(StyleHeadError, match="cannot read style head"):
        load_style_head(root / "junk.pt")


@pytest.mark.slow
def test_the_palette_weight_counts_where_a_look_set_the_palette(trained) -> None:
    """`style_head_palette` sets the RGB histogram beside the head and the statistics, each frame's share scaled by
    how concentrated its palette is: a toned frame (one hue) keeps most of it, a frame of every colour almost none."""
    from vidstyle.embedder.model import Embedder

    settings, root, _ = trained
    model = settings.model.model_copy(update={"style_head": str(root / "head.pt"), "style_representation": "learned"})
    plain = Embedder(settings.model_copy(update={"model": model}))
    paletted = Embedder(settings.model_copy(update={"model": model.model_copy(update={"style_head_palette": 2.0})}))
    assert paletted.fingerprint != plain.fingerprint
    assert paletted.dims["style_learned"] == plain.dims["style_learned"] + 8**3
    rng = np.random.default_rng(0)
    every_colour = rng.integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    sepia = (cv2.GaussianBlur(rng.integers(0, 256, (224, 224), dtype=np.uint8), (0, 0), 3)[None, ..., None]
             * np.array([1.0, 0.8, 0.55])).astype(np.uint8)
    frames = np.concatenate([every_colour, sepia])
    gate = palette_concentration(plain.features.style_blocks(frames)[0]["rgb"].cpu())
    assert gate[0] < 0.1 < 0.4 < gate[1]
    a, b = plain.features(frames)["style_learned"], paletted.features(frames)["style_learned"]
    n = a.shape[1]
    # The head's and the statistics' part keeps its direction; what is left is the palette's share.
    cos = (b[:, :n] * a).sum(1) / np.linalg.norm(b[:, :n], axis=1)
    assert np.allclose(cos, 1, atol=1e-5)
    share = np.square(b[:, n:]).sum(1)
    assert share[0] < 0.02 and share[1] > 0.1
    # With the weight at zero nothing is added: the vector is the one shipped before the setting existed.
    zero = Embedder(settings.model_copy(update={"model": model.model_copy(update={"style_head_palette": 0.0})}))
    assert zero.fingerprint == plain.fingerprint and np.array_equal(zero.features(frames)["style_learned"], a)


@pytest.mark.slow
def test_a_held_out_family_is_recognised_well_above_chance(trained) -> None:
    """A head trained on the training families only, on looks of a family it never saw: 1-NN look accuracy."""
    settings, root, _ = trained
    from vidstyle.backbones import load_backbone
    from vidstyle.embedder.features import FeatureExtractor

    head = load_style_head(root / "head.pt")
    m = settings.model.model_copy(update={"style_head": None, "style_representation": "texture"})
    fx = FeatureExtractor(load_backbone(m.backbone, m.weights_path), m)
    cfg = HeadTraining(groups=2, contents_per_group=4, looks_per_group=6, split="heldout", seed=11)
    data = render_training_frames(cfg, m.input_size)
    z = embed_with_head(head, extract_blocks(fx, data.frames))
    sims = z @ z.T
    np.fill_diagonal(sims, -np.inf)
    # neighbours in the same group share the scene set, so the nearest other frame in the same look is a
    # different scene: a content match cannot pass for a look match
    acc = float((data.labels[sims.argmax(1)] == data.labels).mean())
    chance = 1 / cfg.looks_per_group
    print(f"held-out families, 1-NN look accuracy {acc:.2f} (chance {chance:.2f})")
    assert acc > 2 * chance
