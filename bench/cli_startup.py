"""Where a `vidstyle` command's time goes before its first real work, side by side in one run.

    python bench/cli_startup.py [--repeats 3]

Builds a small offline catalogue (the demo's), then times, in fresh processes: `--help`; `query --video-id`
(CLI and index load, no model); a finished `embed` rerun as it runs now (the dataset records its model, so
none is loaded) and with the record removed (the model is loaded to compare fingerprints, as every rerun did
before); `query --file` as it runs now (decode overlapped with loading torch and the model) and the imports
alone that it cannot avoid (torch, torchvision). Prints a Markdown table of medians for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OFFLINE = REPO / "configs" / "offline.yaml"


def timed(cmd: list[str], repeats: int, before: Callable[[], None] | None = None) -> float:
    """Median wall time of `cmd` in fresh processes; `before` (untimed) restores what a run changes."""
    runs = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vidstyle-startup-"))
    vidstyle = [sys.executable, "-m", "vidstyle"]
    subprocess.run([*vidstyle, "demo", "--workdir", str(work)], check=True, capture_output=True)
    videos, emb, index = work / "videos", work / "embeddings", work / "index"
    unrecorded = work / "embeddings-unrecorded"

    def drop_the_record() -> None:  # the first run writes it, so every run starts from a copy without it
        shutil.rmtree(unrecorded, ignore_errors=True)
        shutil.copytree(emb, unrecorded)
        (unrecorded / "_settings.json").unlink()

    clip = str(videos / "cat__sepia.mp4")
    rows = [
        ("`vidstyle --help`", [*vidstyle, "--help"]),
        ("`query --video-id` (no model)", [*vidstyle, "query", str(index), "--video-id", "cat__sepia", "--space",
                                           "style"]),
        ("finished `embed` rerun, model recorded (now)", [*vidstyle, "embed", str(videos), "--out", str(emb),
                                                          "--config", str(OFFLINE), "--no-progress"]),
        ("finished `embed` rerun, no record (model loaded, as before)",
         [*vidstyle, "embed", str(videos), "--out", str(unrecorded), "--config", str(OFFLINE), "--no-progress"]),
        ("`query --file`", [*vidstyle, "query", str(index), "--file", clip, "--space", "style"]),
        ("`import torch, torchvision` alone", [sys.executable, "-c", "import torch, torchvision"]),
    ]
    results = [(name, timed(cmd, args.repeats, drop_the_record if str(unrecorded) in cmd else None))
               for name, cmd in rows]
    base = results[0][1]
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    import os

    print(f"Machine: {cpu}, {os.cpu_count()} cores; median of {args.repeats} fresh processes each\n")
    print("| command | seconds | × `--help` |\n|---|---|---|")
    for name, seconds in results:
        print(f"| {name} | {seconds:.2f} | {seconds / base:.1f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
