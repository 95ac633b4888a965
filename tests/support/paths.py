"""Where the repository and its offline config are, for tests that run commands."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OFFLINE_CONFIG = REPO / "configs" / "offline.yaml"
