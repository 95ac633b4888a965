"""The sample catalogue's subjects and looks, and single generated photos (vidstyle.media.samples)."""

from __future__ import annotations

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
