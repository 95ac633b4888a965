"""The HTTP service: `create_app(AppState)`; `AppState.open(INDEX_DIR, settings)` loads what it serves."""

from vidstyle.service.api.app import create_app
from vidstyle.service.api.state import AppState, StartupError

__all__ = ["AppState", "StartupError", "create_app"]
