"""`make-benchmark --split`: the held-out protocol writes only the chosen families' looks, each item in its own
instance of its look, as real encoded files."""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from vidstyle.cli.app import app
from vidstyle.evaluation.benchmark import Item, item_look, make_benchmark
from vidstyle.evaluation.errors import EvaluationError
from vidstyle.media.looks import SPLITS, get_look, looks_in
from vidstyle.media.samples import draw_scene

runner = CliRunner()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "heldout"
    args = ["make-benchmark", str(out), "--n", "3", "--seed", "2", "--split", "heldout", "--kinds", "image,video"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_heldout_split_writes_only_heldout_looks_with_their_families(heldout: Path) -> None:
    labels, triplets = _rows(heldout / "labels.csv"), _rows(heldout / "triplets.csv")
    assert list(labels[0]) == ["path", "content_id", "style_id", "kind", "template_id", "style_family"]
    assert list(triplets[0]) == ["a", "b", "c", "kind", "family"]
    assert {r["style_id"] for r in labels} <= set(looks_in("heldout"))
    assert {r["style_family"] for r in labels} <= set(SPLITS["heldout"])
    assert all(r["style_family"] == get_look(r["style_id"]).family for r in labels)
    by_path = {r["path"]: r for r in labels}
    assert len(triplets) == 6
    for t in triplets:
        a, b, c = (by_path[t[k]] for k in "abc")
        assert t["family"] == c["style_family"] == a["style_family"]
        assert a["style_id"] == c["style_id"] != b["style_id"] and b["content_id"] == c["content_id"]


def test_heldout_videos_are_real_h264(heldout: Path) -> None:
    videos = sorted((heldout / "video").glob("*.mp4"))
    assert videos
    for path in videos:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            assert stream.codec_context.name == "h264"
        assert len(frames) >= 20 and frames[0].shape == (192, 192, 3)
        assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 1, "the camera moves"


def test_train_split_and_chosen_looks(tmp_path: Path) -> None:
    train = make_benchmark(tmp_path / "train", n=2, seed=0, kinds=["image"], split="train")
    assert {item.family for item in train.items} <= set(SPLITS["train"])
    chosen = make_benchmark(tmp_path / "chosen", n=2, seed=0, kinds=["image"], looks=["ink", "emboss"],
                            split="heldout")
    assert {r["style_id"] for r in _rows(chosen.labels_csv)} == {"ink", "emboss"}
    with pytest.raises(EvaluationError, match="not in the 'train' split"):
        make_benchmark(tmp_path / "x", n=1, kinds=["image"], looks=["ink", "sepia"], split="train")


def test_cli_flags_refuse_bad_splits_and_looks_in_one_line(tmp_path: Path) -> None:
    for extra, reason in ((["--split", "test"], "unknown split"), (["--looks", "sepia,nope"], "unknown look 'nope'"),
                          (["--split", "heldout", "--looks", "sepia,ink"], "not in the 'heldout' split")):
        result = runner.invoke(app, ["make-benchmark", str(tmp_path / "b"), "--n", "1", *extra])
        assert result.exit_code == 1, result.output
        assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b" / "labels.csv").exists()
    made = runner.invoke(app, ["make-benchmark", str(tmp_path / "c"), "--n", "1", "--kinds", "image",
                               "--looks", "sepia,pixel"])
    assert made.exit_code == 0, made.output
    assert {r["style_id"] for r in _rows(tmp_path / "c" / "labels.csv")} == {"sepia", "pixel"}


def test_each_item_draws_its_own_instance_of_its_look() -> None:
    frame = draw_scene("cat", seed=0, long_side=160)
    a, c = Item("image", "coffee", "grain"), Item("image", "cat", "grain")
    same = item_look(a, 0)(frame)
    assert np.array_equal(same, item_look(a, 0)(frame)), "an item's instance is fixed by the seed and the item"
    assert not np.array_equal(same, item_look(c, 0)(frame)), "another item of the look draws other parameters"
    assert not np.array_equal(same, item_look(a, 1)(frame)), "another benchmark seed draws other parameters"
