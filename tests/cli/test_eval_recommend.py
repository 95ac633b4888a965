"""`vidstyle eval-recommend LABELS --json`: the JSON shape, on a few real H.264 videos embedded offline (in
process: the command's own code path, without a second interpreter's start-up)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.cli.app import app
from vidstyle.evaluation.copy_benchmark import CopyItem, _Renderer

runner = CliRunner()

RULE_KEYS = {"mean_copy_rate_at_k", "mean_style_precision_at_k", "mean_subject_repetition_at_k",
             "max_copy_rate_at_k", "queries_with_a_copy", "related_dropped", "queries"}
QUERY_KEYS = {"query", "split", "rule", "copy_rate_at_k", "style_precision_at_k", "subject_repetition_at_k",
              "results", "related_dropped", "copies_dropped"}


@pytest.mark.slow
def test_eval_recommend_json_shape(tmp_path: Path) -> None:
    renderer = _Renderer(tmp_path, seed=3)
    items = [CopyItem("test", "cat", 0, "sepia"), CopyItem("test", "cat", 0, "sepia", ("flip",)),
             CopyItem("test", "cat", 1, "sepia"), CopyItem("test", "coffee", 0, "sepia")]
    with (tmp_path / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "content_id", "style_id", "footage_id", "primary_edit"])
        for item in items:
            renderer.render(item)
            w.writerow([item.relpath, item.content, item.look, item.footage_id, item.edits[0] if item.edits else ""])
    done = runner.invoke(app, ["eval-recommend", str(tmp_path / "labels.csv"), "--json", "-k", "2",
                               "--config", str(OFFLINE_CONFIG), "--no-cache"])
    assert done.exit_code == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["k"] == 2 and out["chosen_on"] == "config" and out["tried"] == []
    assert set(out["rules"]) == {"content_threshold", "copy_check"}
    test = out["splits"]["test"]
    assert test["items"] == 4 and set(test["rules"]["copy_check"]) == RULE_KEYS
    assert test["style_precision_ceiling_at_k"] == 1.0  # one look: every other footage is a right answer
    detection = test["detection"]
    assert detection["pairs"] == 6 and detection["copy_pairs"] == 1 and 0 <= detection["copy_micro_ap"] <= 1
    assert detection["recall_by_edit"] == {"flip": 1.0}
    assert len(out["queries"]) == 8 and all(set(q) == QUERY_KEYS for q in out["queries"])
    assert all(q["copy_rate_at_k"] == 0 for q in out["queries"] if q["rule"] == "copy_check")

    bad = runner.invoke(app, ["eval-recommend", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 1 and bad.stderr.strip().count("\n") == 0 and bad.stderr.startswith("error: ")
