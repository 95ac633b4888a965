"""A child process for the index crash tests: random adds, replacements and deletes on INDEX_DIR while another
thread compacts (saves) it over and over, each write announced on stdout before it starts
(`begin STEP OP VIDEO_ID`) and once acknowledged (`ack STEP`), until it is killed.

    python -m tests.support.index_writer INDEX_DIR FIRST_STEP [--shared SLOT]

Alone, it is INDEX_DIR's one writer (`writable=True`). With `--shared SLOT` (0 or 1) it is one of two processes
writing INDEX_DIR in shared mode; it touches only its own videos (the catalogue's `v<i>` with i % 2 == SLOT, and
those it adds, `s<SLOT>-w<step>`), so what each video holds follows from one process's lines alone.

The vectors of step s are `step_vectors(s, dims)`, so the parent knows what every acknowledged write stored.
A failed compaction ends the process (exit 3), so the parent sees it instead of a writer that goes on.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import IndexSet


def step_vectors(step: int, dims: dict[str, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(10_000 + step)
    return {space: rng.standard_normal((1, dim)).astype(np.float32) for space, dim in dims.items()}


def owned_by(video: str, slot: int) -> bool:
    """Whether the shared writer in `slot` may touch `video`."""
    if video.startswith("v"):
        return int(video[1:]) % 2 == slot
    return video.startswith(f"s{slot}-")


def main(index_dir: Path, first_step: int, slot: int | None) -> None:
    shared = slot is not None
    index = IndexSet.load(index_dir, IndexSettings(), writable=not shared, shared=shared)
    rng = np.random.default_rng(first_step)

    def compact_forever() -> None:
        try:
            while True:
                index.save(index_dir)
                if shared:  # without pending writes a shared save returns at once; leave the log's lock be
                    time.sleep(0.01)
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(3)

    threading.Thread(target=compact_forever, daemon=True).start()
    prefix = "w" if slot is None else f"s{slot}-w"
    gone: list[str] = []
    for step in range(first_step, first_step + 100_000):
        live = [v for v in index.video_ids() if slot is None or owned_by(v, slot)]
        roll = rng.random()
        if roll < 0.35 or not live:
            op, video = "add", f"{prefix}{step}"
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
    parser = argparse.ArgumentParser()
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("first_step", type=int)
    parser.add_argument("--shared", type=int, choices=(0, 1), default=None, metavar="SLOT")
    args = parser.parse_args()
    main(args.index_dir, args.first_step, args.shared)
