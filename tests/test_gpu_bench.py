"""bench/gpu_bench.py runs on a CPU at tiny sizes and reports every stage (the GPU figures need a GPU machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu_bench.py"


@pytest.mark.slow
def test_gpu_bench_runs_on_cpu_at_tiny_sizes(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--backbones", "efficientnet_lite0",
                          "--variants", "fp32:channels_last", "--json", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| efficientnet_lite0 | fp32, channels-last |" in run.stdout
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["peaks_tflops"]["fp32"] > 0
    rows = report["rows"]
    assert [r["variant"] for r in rows] == ["fp32, channels-last"]
    for r in rows:
        # 2 tiny videos of 6 s, 8 frames sampled from each: every stage saw all 16 frames.
        assert r["frames"] == 16
        for key in ("decode_fps", "pre_opencv_fps", "pre_torch_fps", "model_fps", "e2e_fps", "gflop_per_frame"):
            assert r[key] > 0, key


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where torch sees no GPU")
def test_gpu_bench_says_when_there_is_no_gpu() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--device", "cuda", "--tiny"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1 and "torch sees no GPU here; use --device cpu" in run.stderr
