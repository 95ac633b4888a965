"""Files shipped in the package's `heads/` folder: the trained heads and the copy background set.

Its own module, without torch, because the copy checks of the offline `neighbours` job and of the service need the
background set's path and nothing else of the heads' modules (importing torch costs ~500 MB and a second or two).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def packaged_file(name: str) -> Path | None:
    """A file shipped in the package's heads/ folder, if it exists."""
    path = Path(str(resources.files("vidstyle.embedder") / "heads" / name))
    return path if path.is_file() else None
