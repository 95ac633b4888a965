"""`vidstyle make-benchmark`, `eval` and `eval-retrieval` end to end on a tiny generated benchmark."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.cli.app import app

runner = CliRunner()
GROUP_KEYS = {"n", "style_accuracy", "content_accuracy", "both_accuracy"}


@pytest.fixture(scope="module")
def tiny_benchmark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "b"
    result = runner.invoke(app, ["make-benchmark", str(out), "--n", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    return out


def test_make_benchmark_layout_and_determinism(tiny_benchmark: Path, tmp_path: Path) -> None:
    with (tiny_benchmark / "triplets.csv").open() as fh:
        trips = list(csv.DictReader(fh))
    with (tiny_benchmark / "labels.csv").open() as fh:
        labels = list(csv.DictReader(fh))
    assert [t["kind"] for t in trips] == ["image", "video", "three_panel"]
    by_path = {r["path"]: r for r in labels}
    for t in trips:
        a, b, c = (by_path[t[k]] for k in "abc")
        assert a["style_id"] == c["style_id"] and a["content_id"] != c["content_id"]
        assert b["content_id"] == c["content_id"] and b["style_id"] != c["style_id"]
        if t["kind"] == "three_panel":  # the hard case: A shares C's template, B does not
            assert a["template_id"] == c["template_id"] != b["template_id"]
        for k in "abc":
            assert (tiny_benchmark / t[k]).stat().st_size > 0
    assert {Path(r["path"]).suffix for r in labels} == {".png", ".mp4"}
    # Same seed → same files, byte for byte for the PNGs; another seed → another benchmark.
    again, other = tmp_path / "again", tmp_path / "other"
    for folder, seed in ((again, "3"), (other, "4")):
        made = runner.invoke(app, ["make-benchmark", str(folder), "--n", "1", "--seed", seed, "--kinds", "image"])
        assert made.exit_code == 0, made.output
    first_image = next(r["path"] for r in labels if r["path"].endswith(".png"))
    assert (again / first_image).read_bytes() == (tiny_benchmark / first_image).read_bytes()
    assert (other / "triplets.csv").read_text() != (again / "triplets.csv").read_text()


@pytest.mark.slow
def test_eval_json_shape_cache_and_report(tiny_benchmark: Path, tmp_path: Path) -> None:
    args = ["eval", str(tiny_benchmark / "triplets.csv"), "--json", "--config", str(OFFLINE_CONFIG)]
    result = runner.invoke(app, [*args, "--report", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"n", "style_accuracy", "content_accuracy", "both_accuracy", "by_kind", "by_representation"}
    assert out["n"] == 3
    assert set(out["by_kind"]) == {"image", "video", "three_panel"}
    assert all(set(g) == GROUP_KEYS and g["n"] == 1 for g in out["by_kind"].values())
    assert {"stats", "gram"} <= set(out["by_representation"])
    assert all(set(v) == {"style_accuracy"} for v in out["by_representation"].values())
    for key in ("style_accuracy", "content_accuracy", "both_accuracy"):
        assert 0.0 <= out[key] <= 1.0
    caches = list((tiny_benchmark / ".vidstyle-cache").glob("*.parquet"))
    assert len(caches) == 1
    page = (tmp_path / "report" / "index.html").read_text()
    assert "data:image/png;base64," in page
    for png in ("accuracy.png", "pca_maps.png", "worst_style.png", "worst_content.png"):
        assert (tmp_path / "report" / png).stat().st_size > 1000

    # Second run: every file comes from the cache (nothing is decoded), same numbers.
    stamp = caches[0].stat().st_mtime_ns
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert json.loads(again.stdout) == out
    assert caches[0].stat().st_mtime_ns == stamp, "a fully cached run rewrites nothing"

    retrieval = runner.invoke(app, ["eval-retrieval", str(tiny_benchmark / "labels.csv"), "--json", "-k", "3",
                                    "--config", str(OFFLINE_CONFIG)])
    assert retrieval.exit_code == 0, retrieval.output
    r = json.loads(retrieval.stdout)
    assert set(r) == {"k", "style_recall_at_k", "content_recall_at_k", "style_map", "content_map"} and r["k"] == 3
    assert all(0.0 <= r[key] <= 1.0 for key in r if key != "k")


def test_eval_user_errors_are_one_line(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["eval", str(tmp_path / "nope.csv"), "--config", str(OFFLINE_CONFIG)])
    assert missing.exit_code != 0 and "does not exist" in missing.stderr and "Traceback" not in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\nx,y\n")
    wrong = runner.invoke(app, ["eval", str(bad), "--json", "--config", str(OFFLINE_CONFIG)])
    assert wrong.exit_code != 0 and "lacks column" in wrong.stderr
    gone = tmp_path / "gone.csv"
    gone.write_text("a,b,c\nx.png,y.png,z.png\n")
    failed = runner.invoke(app, ["eval", str(gone), "--json", "--config", str(OFFLINE_CONFIG)])
    assert failed.exit_code != 0 and "no triplet could be scored" in failed.stderr
    k0 = runner.invoke(app, ["eval-retrieval", str(gone), "-k", "0", "--config", str(OFFLINE_CONFIG)])
    assert k0.exit_code != 0
