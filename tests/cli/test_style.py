"""`vidstyle train-style --method`, `vidstyle stylize --method` and `vidstyle stylize-compare` through the app, on
tiny images written to disk (and one real video): every method trains, resumes and renders; StyleBank adds a style
and fuses two by a mask; bad combinations exit 1 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.support.media import photo
from tests.support.paths import OFFLINE_CONFIG
from vidstyle.cli.app import app
from vidstyle.styletransfer.checkpoint import read_checkpoint

pytestmark = pytest.mark.slow  # each command loads the backbone and starts decode workers: seconds apiece

runner = CliRunner()
CONFIG = ["--config", str(OFFLINE_CONFIG)]
TRAINED = ("ghiasi", "cin", "johnson", "stylebank", "adain")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("style-cli")
    for folder, images in (("content", {n: photo(n, 48) for n in ("cat", "coffee")}),
                           ("styles", {look: photo("china", 48, look) for look in ("thermal", "duotone")}),
                           ("one", {"thermal": photo("china", 48, "thermal")})):
        (root / folder).mkdir()
        for name, image in images.items():
            Image.fromarray(image).save(root / folder / f"{name}.png")
    Image.fromarray(photo("china", 48, "neon")).save(root / "neon.png")
    mask = np.zeros((48, 48), np.uint8)
    mask[:, :24] = 255
    Image.fromarray(mask).save(root / "mask.png")
    return root


def invoke(*args: str):
    return runner.invoke(app, [*args, *CONFIG])


@pytest.fixture(scope="module")
def checkpoints(folders: Path) -> dict[str, Path]:
    out = {}
    for method in TRAINED:
        ckpt = folders / f"{method}.pt"
        styles = folders / ("one" if method == "johnson" else "styles")
        res = invoke("train-style", "--method", method, "--content", str(folders / "content"), "--styles",
                     str(styles), "--out", str(ckpt), "--size", "32", "--batch", "2", "--steps", "2", "--device",
                     "cpu", "--threads", "1", "--no-progress")
        assert res.exit_code == 0, res.output
        assert "trained 2 steps" in res.output
        out[method] = ckpt
    return out


@pytest.mark.parametrize("method", TRAINED)
def test_train_and_stylize(method, folders, checkpoints) -> None:
    assert read_checkpoint(checkpoints[method])["config"]["method"] == method
    png = folders / f"{method}.png"
    res = invoke("stylize", str(folders / "content" / "cat.png"), "--like", str(folders / "styles" / "thermal.png"),
                 "--method", method, "--checkpoint", str(checkpoints[method]), "--size", "40", "--out", str(png))
    assert res.exit_code == 0, res.output
    image = np.asarray(Image.open(png))
    assert image.shape == (40, 40, 3) and image.std() > 1
    if method in ("cin", "johnson", "stylebank"):
        assert "known style" in res.output and "thermal" in res.output


def test_resume_continues_on_the_recorded_sources(folders, checkpoints) -> None:
    """--resume CKPT needs no --content / --styles: the run recorded them (exactness is tested per method below
    the CLI, in tests/styletransfer)."""
    cont = folders / "stylebank-3.pt"
    res = invoke("train-style", "--resume", str(checkpoints["stylebank"]), "--out", str(cont), "--steps", "3",
                 "--threads", "1", "--no-progress")
    assert res.exit_code == 0 and "trained 3 steps" in res.output, res.output
    assert [h["step"] for h in read_checkpoint(cont)["history"]] == [1, 2, 3]


def test_stylize_without_method_uses_the_checkpoints(folders, checkpoints) -> None:
    png = folders / "default.png"
    res = invoke("stylize", str(folders / "content" / "cat.png"), "--like", str(folders / "styles" / "duotone.png"),
                 "--checkpoint", str(checkpoints["adain"]), "--size", "32", "--out", str(png))
    assert res.exit_code == 0 and png.is_file(), res.output


def test_gatys_renders_a_video_keyframe_without_a_checkpoint(folders, sample_catalogue) -> None:
    video = sorted(sample_catalogue.glob("*.mp4"))[0]
    png = folders / "gatys.png"
    res = invoke("stylize", str(video), "--like", str(folders / "styles" / "thermal.png"), "--method", "gatys",
                 "--steps", "2", "--size", "32", "--compare", "--out", str(png))
    assert res.exit_code == 0, res.output
    assert Image.open(png).size == (3 * 32, 32)


def test_stylebank_add_style_and_mask(folders, checkpoints) -> None:
    added = folders / "added.pt"
    res = invoke("train-style", "--add-style", str(folders / "neon.png"), "--resume", str(checkpoints["stylebank"]),
                 "--out", str(added), "--steps", "2", "--threads", "1", "--no-progress")
    assert res.exit_code == 0 and "trained 2 steps" in res.output, res.output
    assert read_checkpoint(added)["config"]["n_styles"] == 3
    png = folders / "fused.png"
    res = invoke("stylize", str(folders / "content" / "cat.png"), "--like", str(folders / "neon.png"),
                 "--like", str(folders / "styles" / "thermal.png"), "--mask", str(folders / "mask.png"),
                 "--checkpoint", str(added), "--size", "48", "--out", str(png))
    assert res.exit_code == 0, res.output
    assert "2 (neon)" in res.output and "(thermal)" in res.output
    assert np.asarray(Image.open(png)).shape == (48, 48, 3)


@pytest.mark.parametrize(("args", "reason"), [
    (["--method", "cin", "--mask", "{root}/mask.png", "--checkpoint", "{root}/cin.pt"], "--mask is StyleBank"),
    (["--method", "gatys", "--checkpoint", "{root}/cin.pt"], "no --checkpoint"),
    (["--method", "adain", "--checkpoint", "{root}/cin.pt"], "holds a cin model"),
    (["--method", "picasso"], "unknown method"),
    (["--checkpoint", "{root}/stylebank.pt", "--mask", "{root}/mask.png"], "two --like"),
])
def test_stylize_refuses_bad_combinations(args, reason, folders, checkpoints) -> None:
    res = invoke("stylize", str(folders / "content" / "cat.png"), "--like", str(folders / "styles" / "thermal.png"),
                 "--out", str(folders / "never.png"), *[a.format(root=folders) for a in args])
    assert res.exit_code == 1, res.output
    assert reason in res.output and "Traceback" not in res.output
    assert not (folders / "never.png").exists()


def test_train_style_refuses_bad_combinations(folders, checkpoints) -> None:
    base = ["train-style", "--content", str(folders / "content"), "--steps", "1", "--no-progress"]
    res = invoke(*base, "--styles", str(folders / "styles"), "--method", "johnson", "--out", str(folders / "j2.pt"))
    assert res.exit_code == 1 and "one transformer per style" in res.output
    res = invoke(*base, "--styles", str(folders / "styles"), "--method", "gatys", "--out", str(folders / "g.pt"))
    assert res.exit_code == 1 and "stylize --method gatys" in res.output
    res = invoke(*base, "--add-style", str(folders / "neon.png"), "--resume", str(checkpoints["cin"]), "--out",
                 str(folders / "c2.pt"))
    assert res.exit_code == 1 and "stylebank" in res.output
    res = invoke(*base, "--styles", str(folders / "styles"), "--out", str(checkpoints["cin"]))
    assert res.exit_code == 1 and "--resume" in res.output


def test_stylize_compare_writes_the_grid_and_table(folders, checkpoints, tmp_path) -> None:
    out = tmp_path / "compare"
    res = invoke("stylize-compare", str(folders / "content"), str(folders / "styles"), "--out", str(out),
                 "--checkpoint", f"cin={checkpoints['cin']}", "--checkpoint", f"adain={checkpoints['adain']}",
                 "--size", "32", "--steps", "2", "--threads", "1")
    assert res.exit_code == 0, res.output
    rows = json.loads((out / "table.json").read_text())
    assert [r["method"] for r in rows] == ["gatys", "cin", "adain"]
    gatys, cin, adain = rows
    assert gatys["train_seconds"] is None and cin["train_steps"] == 2 and cin["parameters"] > 0
    assert all(r["seconds_per_image"] > 0 and r["content_loss"] >= 0 and r["style_loss"] > 0 for r in rows)
    page = (out / "index.html").read_text()
    for method in ("gatys", "adain", "cin"):
        for i in range(2):
            for j in range(2):
                assert f"img/{method}_{i}_{j}.png" in page
                assert Image.open(out / "img" / f"{method}_{i}_{j}.png").size == (32, 32)
    assert "| cin |" in res.output
    res = invoke("stylize-compare", str(folders / "content"), str(folders / "styles"), "--out", str(out),
                 "--checkpoint", "gatys=x.pt")
    assert res.exit_code == 1 and "trained method" in res.output
