"""A child process for the index crash tests: random adds, replacements and deletes on a writable INDEX_DIR
while another thread compacts (saves) it over and over, each write announced on stdout before it starts
(`begin STEP OP VIDEO_ID`) and once acknowledged (`ack STEP`), until it is killed.

    python -m tests.support.index_writer INDEX_DIR FIRST_STEP

The vectors of step s are `step_vectors(s, dims)`, so the parent knows what every acknowledged write stored.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet


def step_vectors(step: int, dims: dict[str, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(10_000 + step)
    return {space: rng.standard_normal((1, dim)).astype(np.float32) for space, dim in dims.items()}


def main(index_dir: Path, first_step: int) -> None:
    index = IndexSet.load(index_dir, IndexSettings(), writable=True)
    rng = np.random.default_rng(first_step)

    def compact_forever() -> None:
        while True:
            index.save(index_dir)

    threading.Thread(target=compact_forever, daemon=True).start()
    gone: list[str] = []
    for step in range(first_step, first_step + 100_000):
        live = index.video_ids()
        roll = rng.random()
        if roll < 0.35 or not live:
            op, video = "add", f"w{step}"
        elif roll < 0.55:
            op, video = "add", live[int(rng.integers(len(live)))]  # replace
        elif roll < 0.7 and gone:
            op, video = "add", gone.pop(int(rng.integers(len(gone))))  # re-add after delete
        else:
            op, video = "remove", live[int(rng.integers(len(live)))]
        print(f"begin {step} {op} {video}", flush=True)
        if op == "add":
            index.add([video], step_vectors(step, index.dims))
        else:
            index.remove([video])
            gone.append(video)
        print(f"ack {step}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
