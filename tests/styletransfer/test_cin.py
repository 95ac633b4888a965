"""Learned style (CIN): training lowers the loss, resume is exact, checkpoints round-trip to identical embeddings,
`vidstyle embed` writes `style_cin` under a fingerprint carrying the checkpoint, and a briefly trained model moves
colours towards the style image."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from tests.support.media import photo
from tests.support.paths import OFFLINE_CONFIG
from tests.support.style import TINY, tiny_config
from vidstyle.backbones import frames_to_tensor, load_backbone
from vidstyle.core.files import sha256_file
from vidstyle.core.settings import load_settings
from vidstyle.styletransfer.checkpoint import CheckpointError, load_cin, read_checkpoint, save_checkpoint
from vidstyle.styletransfer.losses import perceptual_losses
from vidstyle.styletransfer.model import CinConfig, CinModel
from vidstyle.styletransfer.train import train


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("efficientnet_lite0")


def fixed_loss(model: CinModel, contents: np.ndarray, styles: np.ndarray) -> float:
    """The loss on every (content, style) pair: the same yardstick before and after training."""
    ci, si = np.meshgrid(np.arange(len(contents)), np.arange(len(styles)))
    with torch.no_grad():
        return float(perceptual_losses(model, frames_to_tensor(contents[ci.ravel()], "cpu"),
                                       frames_to_tensor(styles[si.ravel()], "cpu")).total)


def test_training_lowers_the_loss(trained_tiny, tiny_frames, backbone) -> None:
    contents, styles = tiny_frames
    config = CinConfig.from_dict(read_checkpoint(trained_tiny)["config"])  # with the run's loss scales
    assert set(config.loss_scales) == {"content:block10", "style:stem", "style:block0", "style:block2",
                                       "style:block4"}
    torch.manual_seed(config.seed)
    before = fixed_loss(CinModel(config, backbone), contents, styles)  # the run's own initialisation
    after = fixed_loss(load_cin(trained_tiny, backbone), contents, styles)
    assert after < 0.8 * before, (before, after)
    history = read_checkpoint(trained_tiny)["history"]
    assert [h["step"] for h in history] == list(range(1, 31))


def test_resume_continues_exactly(tmp_path, trained_tiny, tiny_frames, offline_settings) -> None:
    """30 steps in one go == 5 steps, stop, resume to 30: same weights to the bit (seeded init, saved RNG)."""
    contents, styles = tiny_frames
    ckpt = tmp_path / "resumed.pt"
    train(contents, styles, ckpt, tiny_config(steps=5), offline_settings, device="cpu", progress=False, threads=1)
    with pytest.raises(ValueError, match="--resume"):
        train(contents, styles, ckpt, tiny_config(), offline_settings, device="cpu", progress=False, threads=1)
    train(contents, styles, ckpt, tiny_config(steps=30), offline_settings, device="cpu", resume=ckpt,
          progress=False, threads=1)
    a, b = read_checkpoint(trained_tiny), read_checkpoint(ckpt)
    assert b["step"] == 30
    for part in ("transformer", "head"):
        for name, tensor in a["state"][part].items():
            assert torch.equal(tensor, b["state"][part][name]), f"{part}.{name} differs after resume"
    assert [h["total"] for h in a["history"]] == [h["total"] for h in b["history"]]


def test_divergence_stops_without_overwriting_the_last_good_checkpoint(tmp_path, tiny_frames, offline_settings,
                                                                       monkeypatch) -> None:
    import vidstyle.styletransfer.train as ts
    from vidstyle.styletransfer.ghiasi import GhiasiModel

    real, calls = GhiasiModel.training_losses, []

    def nan_at_third(*args):
        losses = real(*args)
        calls.append(1)
        if len(calls) == 3:
            losses.total = losses.total * float("nan")
        return losses

    monkeypatch.setattr(GhiasiModel, "training_losses", nan_at_third)
    contents, styles = tiny_frames
    ckpt = tmp_path / "nan.pt"
    with pytest.raises(ts.TrainingDiverged, match="step 3.*keeps step 2"):
        train(contents, styles, ckpt, tiny_config(save_every=1), offline_settings, device="cpu", progress=False,
              threads=1)
    saved = read_checkpoint(ckpt)
    assert saved["step"] == 2
    assert all(torch.isfinite(t).all() for part in saved["state"].values() for t in part.values())


def test_checkpoint_round_trip_gives_identical_embeddings(tmp_path, backbone, tiny_frames) -> None:
    torch.manual_seed(3)
    model = CinModel(tiny_config(), backbone)
    with torch.no_grad():  # move away from the initialisation so a silently skipped load would show
        for p in model.head.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    frames = np.concatenate(tiny_frames)
    ckpt = tmp_path / "rt.pt"
    save_checkpoint(ckpt, model)
    loaded = load_cin(ckpt, backbone)
    np.testing.assert_array_equal(model.embed(frames), loaded.embed(frames))
    np.testing.assert_array_equal(model.stylize(frames[0], frames[4:]), loaded.stylize(frames[0], frames[4:]))
    vec = loaded.embed(frames)
    assert vec.shape == (len(frames), 100) and np.allclose(np.linalg.norm(vec, axis=1), 1.0, atol=1e-5)


def test_checkpoint_refuses_other_backbone_weights(trained_tiny, backbone) -> None:
    other = dataclasses.replace(backbone, weights_sha256="0" * 64)
    with pytest.raises(CheckpointError, match="weights"):
        load_cin(trained_tiny, other)


def test_embed_writes_style_cin_with_checkpoint_in_fingerprint(tmp_path, trained_tiny, sample_catalogue,
                                                               embedder) -> None:
    from vidstyle.embedder.model import Embedder
    from vidstyle.embedder.pipeline import embed

    settings = load_settings(OFFLINE_CONFIG, {"model": {"cin_checkpoint": str(trained_tiny),
                                                        "style_representation": "cin"}})
    cin_embedder = Embedder(settings)
    try:
        sha = sha256_file(trained_tiny)
        assert sha[:16] in cin_embedder.fingerprint and cin_embedder.fingerprint != embedder.fingerprint
        assert cin_embedder.dims["style_cin"] == cin_embedder.dims["style"] == 100
        videos = sorted(sample_catalogue.glob("*.mp4"))[:3]
        src = tmp_path / "src"
        src.mkdir()
        for v in videos:
            (src / v.name).symlink_to(v)
        out = tmp_path / "emb"
        embed(src, out, settings, progress=False, embedder=cin_embedder)
        rows = pq.read_table(out).to_pylist()
        assert len(rows) == 3 and all(r["status"] == "ok" and r["model"] == cin_embedder.fingerprint for r in rows)
        for r in rows:
            cin = np.asarray(r["style_cin"], np.float32)
            assert cin.shape == (100,) and abs(np.linalg.norm(cin) - 1) < 1e-5
            np.testing.assert_array_equal(cin, np.asarray(r["style"], np.float32))
        # A rerun with the same checkpoint resumes; with another checkpoint it refuses to mix models.
        other = tmp_path / "other.pt"
        model = load_cin(trained_tiny)
        with torch.no_grad():
            next(model.head.parameters()).add_(0.1)
        save_checkpoint(other, model)
        other_settings = load_settings(OFFLINE_CONFIG, {"model": {"cin_checkpoint": str(other)}})
        from vidstyle.embedder.dataset import DatasetError

        with pytest.raises(DatasetError):
            embed(src, out, other_settings, progress=False)
    finally:
        cin_embedder.close()


def test_cin_representation_needs_a_checkpoint() -> None:
    from vidstyle.core.settings import ConfigError

    with pytest.raises(ConfigError, match="cin_checkpoint"):
        load_settings(OFFLINE_CONFIG, {"model": {"style_representation": "cin"}})


def test_cli_train_resume_and_stylize(tmp_path, tiny_frames) -> None:
    from vidstyle.cli.app import app

    contents, styles = tiny_frames
    for folder, frames in (("c", contents), ("s", styles)):
        (tmp_path / folder).mkdir()
        for i, f in enumerate(frames):
            Image.fromarray(f).save(tmp_path / folder / f"{i}.png")
    ckpt = tmp_path / "cli.pt"
    base = ["train-style", "--content", str(tmp_path / "c"), "--styles", str(tmp_path / "s"), "--out", str(ckpt),
            "--size", str(TINY), "--batch", "2", "--device", "cpu", "--threads", "1", "--no-progress",
            "--config", str(OFFLINE_CONFIG)]
    runner = CliRunner()
    res = runner.invoke(app, [*base, "--steps", "2"])
    assert res.exit_code == 0, res.output
    assert "trained 2 steps" in res.output and ckpt.is_file()
    res = runner.invoke(app, [*base, "--steps", "3"])
    assert res.exit_code != 0 and "--resume" in res.output
    res = runner.invoke(app, [*base, "--steps", "3", "--resume", str(ckpt)])
    assert res.exit_code == 0 and "trained 3 steps" in res.output, res.output
    png = tmp_path / "out.png"
    res = runner.invoke(app, ["stylize", str(tmp_path / "c" / "0.png"), "--like", str(tmp_path / "s" / "1.png"),
                              "--out", str(png), "--checkpoint", str(ckpt), "--size", "48", "--compare",
                              "--config", str(OFFLINE_CONFIG)])
    assert res.exit_code == 0, res.output
    assert Image.open(png).size == (3 * 48, 48)
    res = runner.invoke(app, ["stylize", str(tmp_path / "c" / "0.png"), "--like", str(tmp_path / "s" / "1.png"),
                              "--out", str(png), "--config", str(OFFLINE_CONFIG)])
    assert res.exit_code != 0 and "checkpoint" in res.output and "Traceback" not in res.output


def colour_stats(img: np.ndarray) -> np.ndarray:
    px = img.reshape(-1, 3).astype(np.float64)
    return np.concatenate([px.mean(0), px.std(0)])


@pytest.mark.slow
def test_stylised_colours_move_towards_the_style(tmp_path, offline_settings, backbone) -> None:
    """Train briefly on one strongly coloured style (duotone: navy → teal → lime), render an unseen photo."""
    size = 64
    contents = np.stack([photo(n, size) for n in ("cat", "coffee", "astronaut", "rocket")])
    style = photo("china", size, "duotone")
    ckpt = tmp_path / "colour.pt"
    cfg = CinConfig(image_size=size, style_size=size, batch=2, steps=40, lr=1e-2, save_every=1000)
    train(contents, style[None], ckpt, cfg, offline_settings, device="cpu", progress=False, threads=1)
    held_out = photo("flower", size)
    out = load_cin(ckpt, backbone).stylize(held_out, style[None])
    to_style = np.linalg.norm(colour_stats(out) - colour_stats(style))
    to_content = np.linalg.norm(colour_stats(out) - colour_stats(held_out))
    assert to_style < to_content, (to_style, to_content)
