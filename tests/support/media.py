"""The sample catalogue's subjects and looks, and single generated photos (vidstyle.media.samples)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from vidstyle.media.samples import CONTENTS as PHOTOS
from vidstyle.media.samples import LOOKS as FILTERS

CONTENTS = ("cat", "coffee", "astronaut", "city")
LOOKS = ("natural", "sepia", "pencil", "poster")


def photo(name: str, size: int, look: str = "natural") -> np.ndarray:
    """A generated test photo in one of the sample looks, size x size."""
    img = FILTERS[look](PHOTOS[name](np.random.default_rng(0)))
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def half_catalogue(catalogue: Path, dest: Path) -> list[str]:
    """Copy the sample catalogue's videos in its first two looks into `dest` (made); their file names.

    Enough for a job killed after its first part to have work left, at half the rerun's time."""
    dest.mkdir(parents=True)
    names = [f"{c}__{look}.mp4" for c in CONTENTS for look in LOOKS[:2]]
    for name in names:
        shutil.copy(catalogue / name, dest / name)
    return names
