"""Regenerate the packaged copy background set (`vidstyle.embedder.copy_background`), heads/copy_background.npy.

Renders the background set's 90 MPEG-4 videos (`evaluation.copy_benchmark.background_spec`: the copy benchmark's
train-split generator with training seed 7 and 12 other looks of the training families; never test footage or
held-out looks) into WORK, decodes them with configs/offline.yaml's frame sampling, as `embed` does, and stores
their copy descriptors as float16. Every step is seeded, so with the same code and the same libraries (x264,
OpenCV, the decoder) the file is the same bytes: its sha256 is printed, and recorded in every EMB_DIR part that
stores background scores. Usage:

    python bench/make_copy_background.py WORK [--out embedder/heads/copy_background.npy]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vidstyle.core.settings import load_settings
from vidstyle.embedder.copy_background import FILE, save
from vidstyle.embedder.copy_descriptor import describe
from vidstyle.evaluation.copy_benchmark import make_background_videos
from vidstyle.media.decode import decode_file

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "embedder" / "heads" / FILE)
    args = parser.parse_args()
    settings = load_settings(REPO / "configs" / "offline.yaml")
    d = settings.decode
    descriptors = [describe(decode_file(path, settings.model.input_size, d.max_frames, d.min_gap_s).frames)
                   for path in make_background_videos(args.work)]
    digest = save(args.out, descriptors)
    print(f"{len(descriptors)} videos, {sum(len(x) for x in descriptors)} keyframes -> {args.out} sha256 {digest}")


if __name__ == "__main__":
    main()
