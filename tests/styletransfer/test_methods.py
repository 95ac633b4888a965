"""The seed's style-transfer methods on tiny images: each trains (the loss falls), renders the right shape,
resumes exactly and round-trips through its checkpoint; StyleBank's incremental training leaves E, D and the old
banks bit-identical, and its mask fuses two styles; Gatys optimises pixels with no checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.support.media import photo
from tests.support.style import TINY, tiny_config
from vidstyle.backbones import frames_to_tensor, load_backbone
from vidstyle.core.settings import ConfigError
from vidstyle.styletransfer.adain import adain
from vidstyle.styletransfer.checkpoint import CheckpointError, load_cin, load_model, read_checkpoint
from vidstyle.styletransfer.gatys import gatys
from vidstyle.styletransfer.losses import LossNet, gram, scaled_error
from vidstyle.styletransfer.methods import build_model, n_parameters
from vidstyle.styletransfer.model import CinConfig, channel_stats
from vidstyle.styletransfer.represent import KnownStyleVectors
from vidstyle.styletransfer.train import train

NEW = ("cin", "johnson", "stylebank", "adain")
STEPS = 8


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("efficientnet_lite0")


def styles_for(method: str, styles: np.ndarray) -> np.ndarray:
    return styles[:1] if method == "johnson" else styles


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_frames, offline_settings) -> dict:
    """One short run per method (8 steps, 32 px): {method: checkpoint}."""
    contents, styles = tiny_frames
    out = {}
    for method in NEW:
        ckpt = tmp_path_factory.mktemp(method) / f"{method}.pt"
        train(contents, styles_for(method, styles), ckpt, tiny_config(method=method, steps=STEPS), offline_settings,
              device="cpu", progress=False, threads=1)
        out[method] = ckpt
    return out


def pair_loss(model, contents: np.ndarray, styles: np.ndarray, first_style: int = 0) -> float:
    """The method's own training loss (a stylising step) on every (content, style) pair."""
    ci, si = (g.ravel() for g in np.meshgrid(np.arange(len(contents)), np.arange(len(styles))))
    with torch.no_grad():
        return float(model.training_losses(frames_to_tensor(contents[ci], "cpu"), frames_to_tensor(styles[si], "cpu"),
                                           torch.as_tensor(si + first_style), 0).total)


@pytest.mark.slow
@pytest.mark.parametrize("method", NEW)
def test_training_lowers_the_loss_and_renders_any_size(method, trained, tiny_frames, backbone) -> None:
    contents, styles = tiny_frames
    styles = styles_for(method, styles)
    payload = read_checkpoint(trained[method])
    config = CinConfig.from_dict(payload["config"])
    assert config.method == method and payload["step"] == STEPS
    torch.manual_seed(config.seed)
    before = pair_loss(build_model(config, backbone), contents, styles)  # the run's own initialisation
    model = load_model(trained[method], backbone)
    after = pair_loss(model, contents, styles)
    assert after < 0.95 * before, (before, after)
    content = photo("flower", 44)[:36]  # not a multiple of the network's stride: padded, then cropped back
    out = model.stylize(content, styles[:1])
    assert out.shape == (36, 44, 3) and out.dtype == np.uint8
    assert out.std() > 1 and not np.array_equal(out, content)


@pytest.mark.slow
@pytest.mark.parametrize("method", NEW)
def test_resume_continues_exactly(method, tmp_path, trained, tiny_frames, offline_settings) -> None:
    """8 steps in one go == 3 steps, stop, resume to 8 (StyleBank's schedule crosses two reconstruction steps)."""
    contents, styles = tiny_frames
    styles = styles_for(method, styles)
    ckpt = tmp_path / "part.pt"
    train(contents, styles, ckpt, tiny_config(method=method, steps=3), offline_settings, device="cpu",
          progress=False, threads=1)
    train(contents, styles, ckpt, tiny_config(method=method, steps=STEPS), offline_settings, device="cpu",
          resume=ckpt, progress=False, threads=1)
    a, b = read_checkpoint(trained[method]), read_checkpoint(ckpt)
    assert b["step"] == STEPS
    for part, tensors in a["state"].items():
        for name, tensor in tensors.items():
            assert torch.equal(tensor, b["state"][part][name]), f"{part}.{name} differs after resume"
    assert [h["total"] for h in a["history"]] == [h["total"] for h in b["history"]]


@pytest.mark.slow
@pytest.mark.parametrize("method", NEW)
def test_checkpoint_round_trip_renders_identically(method, trained, tiny_frames, backbone) -> None:
    contents, styles = tiny_frames
    model = load_model(trained[method], backbone)
    again = load_model(trained[method], backbone)
    assert n_parameters(model) > 0
    np.testing.assert_array_equal(model.stylize(contents[0], styles[:1]), again.stylize(contents[0], styles[:1]))
    with pytest.raises(CheckpointError, match="ghiasi"):
        load_cin(trained[method], backbone)


@pytest.mark.slow
def test_n_style_models_know_their_styles(trained, tiny_frames, backbone) -> None:
    """A training style image is found again (key distance 0) and owns its own γβ row (its embedding)."""
    contents, styles = tiny_frames
    model = load_model(trained["cin"], backbone)
    for i in range(len(styles)):
        found, dist = model.styles.nearest(model.loss_net, styles[i : i + 1])
        assert found == i and dist < 1e-5
    rows = np.stack([model.embedding(i) for i in range(len(styles))])
    assert rows.shape == (2, model.transformer.n_params) and not np.allclose(rows[0], rows[1])
    assert not np.array_equal(model.stylize(contents[0], styles[:1]), model.stylize(contents[0], styles[1:]))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["cin", "stylebank"])
def test_known_style_vectors_say_which_style_fits_a_video(method, trained, tiny_frames, backbone) -> None:
    """Per known style, the style loss between the frames rendered in it (as `stylize` renders them) and the frames
    themselves; the fit profile orders the styles by it and the chosen row (γβ, or the bank) is the best fit's."""
    contents, styles = tiny_frames
    model = load_model(trained[method], backbone)
    known = KnownStyleVectors(method, model, "sha")
    video = np.concatenate([contents[:2], styles[1:]])
    errors = known.errors(video)
    net, cfg = model.loss_net, model.config
    own = net.loss_trunk(frames_to_tensor(video, "cpu"))
    for k in range(len(styles)):
        rendered = np.stack([model.stylize(f, styles[:1], style=k) for f in video])
        taps = net.loss_trunk(frames_to_tensor(rendered, "cpu"))
        by_hand = sum(float(scaled_error(gram(taps[t]) - gram(own[t]), cfg.loss_scales[f"style:{t}"]))
                      for t in cfg.style_taps) / len(cfg.style_taps)
        assert errors[k] == pytest.approx(by_hand, rel=0.05), k  # uint8 renders against float ones
    vectors = known(video)
    fit = vectors[f"{method}_fit"]
    assert set(vectors) == set(known.names) and fit.shape == (len(styles),) and fit.dtype == np.float32
    assert list(np.argsort(-fit)) == list(np.argsort(errors)) and abs(fit.sum()) < 1e-5
    best = int(errors.argmin())
    if method == "cin":
        rows = np.stack([model.embedding(i) for i in range(len(styles))])
        np.testing.assert_allclose(vectors["cin_gammabeta"], rows[best] - rows.mean(0), atol=1e-6)
    else:
        np.testing.assert_array_equal(vectors["stylebank_bank"], np.eye(len(styles))[best])


def test_johnson_is_one_style() -> None:
    with pytest.raises(ConfigError, match="one transformer per style"):
        build_model(tiny_config(method="johnson", n_styles=2), load_backbone("efficientnet_lite0"))


@pytest.mark.slow
def test_stylebank_add_style_trains_only_the_new_bank(tmp_path, trained, tiny_frames, offline_settings,
                                                       backbone) -> None:
    contents, styles = tiny_frames
    new_style = photo("china", TINY, "neon")
    out = tmp_path / "added.pt"
    result = train(contents, None, out, tiny_config(method="stylebank", steps=6), offline_settings, device="cpu",
                   resume=trained["stylebank"], add_style=new_style, progress=False, threads=1)
    base, added = read_checkpoint(trained["stylebank"]), read_checkpoint(out)
    assert result.steps == 6 and added["data"]["base"]["steps"] == STEPS
    for part in ("encoder", "decoder"):
        for name, tensor in base["state"][part].items():
            assert torch.equal(tensor, added["state"][part][name]), f"{part}.{name} changed"
    for name, tensor in base["state"]["banks"].items():  # banks 0 and 1
        assert torch.equal(tensor, added["state"]["banks"][name]), f"old bank {name} changed"
    new = {k: v for k, v in added["state"]["banks"].items() if k.startswith("2.")}
    assert new and all(torch.isfinite(v).all() for v in new.values())
    assert [h["style"] > 0 for h in added["history"]] == [True] * 6  # no reconstruction steps
    model = load_model(out, backbone)
    assert model.config.n_styles == 3 and model.config.extra["style_names"][-1] == "style0"
    found, _ = model.styles.nearest(model.loss_net, new_style[None])
    assert found == 2
    # Against the run's own start (the base model and the seeded fresh bank), the new style's loss fell.
    torch.manual_seed(model.config.seed)
    start = build_model(CinConfig.from_dict(base["config"]), backbone)
    start.load_trained_state(base["state"])
    start.add_style(new_style)
    before = pair_loss(start, contents, new_style[None], first_style=2)
    after = pair_loss(model, contents, new_style[None], first_style=2)
    assert after < before, (before, after)


@pytest.mark.slow
def test_stylebank_add_style_needs_a_stylebank_checkpoint(tmp_path, trained, tiny_frames, offline_settings) -> None:
    contents, _ = tiny_frames
    with pytest.raises(CheckpointError, match="stylebank"):
        train(contents, None, tmp_path / "x.pt", tiny_config(method="cin"), offline_settings, device="cpu",
              resume=trained["cin"], add_style=photo("china", TINY, "neon"), progress=False)


@pytest.mark.slow
def test_stylebank_mask_fuses_two_styles(trained, tiny_frames, backbone) -> None:
    contents, styles = tiny_frames
    model = load_model(trained["stylebank"], backbone)
    content = photo("flower", 48)
    a = model.stylize(content, styles[:1], style=0)
    b = model.stylize(content, styles[:1], style=1)
    ones, zeros = np.ones((48, 48), np.float32), np.zeros((48, 48), np.float32)
    np.testing.assert_array_equal(model.stylize(content, styles[:1], style=0, mask=ones, second=1), a)
    np.testing.assert_array_equal(model.stylize(content, styles[:1], style=0, mask=zeros, second=1), b)
    half = ones.copy()
    half[:, 24:] = 0
    fused = model.stylize(content, styles[:1], style=0, mask=half, second=1).astype(int)
    left, right = slice(None, 16), slice(32, None)  # away from the seam (the decoder's receptive field)
    assert np.abs(fused[:, left] - a[:, left]).mean() < np.abs(fused[:, left] - b[:, left]).mean()
    assert np.abs(fused[:, right] - b[:, right]).mean() < np.abs(fused[:, right] - a[:, right]).mean()


def test_adain_takes_the_style_statistics() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(2, 5, 8, 8) * 3 + 1, torch.randn(2, 5, 6, 6) * 0.5 - 2
    stats = channel_stats(y)
    out = adain(x, stats[:, :5], stats[:, 5:])
    torch.testing.assert_close(channel_stats(out), stats, atol=1e-3, rtol=1e-3)


@pytest.mark.slow
def test_gatys_optimises_the_pixels(backbone) -> None:
    content, style = photo("cat", 40), photo("china", 40, "thermal")
    run = gatys(content, style[None], LossNet(CinConfig(method="gatys"), backbone), steps=5)
    totals = [h["total"] for h in run.history]
    assert len(totals) == 5 and totals[-1] < totals[0]
    assert run.image.shape == (40, 40, 3) and run.image.dtype == np.uint8
    assert not np.array_equal(run.image, content)
    with pytest.raises(ConfigError, match="noise"):
        gatys(content, style[None], LossNet(CinConfig(method="gatys"), backbone), steps=1, init="blank")
