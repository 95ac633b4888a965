"""`vidstyle serve INDEX_DIR`: the HTTP API and web page under uvicorn.

With one worker (the default) the index is loaded here, before uvicorn starts, so a bad INDEX_DIR is a one-line
error rather than a crashed server. With several workers (`serve.workers`) uvicorn starts separate processes on
one socket, and each builds its own state from the same settings, passed to them through the environment
(`app_from_environment`): the index files are memory-mapped read-only (one copy in the page cache for all of
them), every worker accepts writes, serialised through the index's write-ahead log, and each request first takes
in what the other workers wrote (`IndexSet.sync`). That is how a catalogue's queries use more than one core
without the thread hop and the GIL of one process.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from vidstyle.core.settings import Settings
from vidstyle.service.api.errors import StartupError

log = logging.getLogger("vidstyle.serve")

# Carries the parent's settings (all of them, the API key included) into uvicorn's worker processes.
SETTINGS_ENV = "VIDSTYLE_SERVE_WORKER_SETTINGS"


def serve(settings: Settings, log_level: str = "info") -> None:
    """Run the service until interrupted; `settings.serve.index_dir` names what to serve."""
    import uvicorn

    from vidstyle.service.api import AppState, create_app

    s = settings.serve
    if s.index_dir is None:
        raise StartupError("no INDEX_DIR to serve")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    common = {"host": s.host, "port": s.port, "log_level": log_level, "access_log": s.access_log}
    if s.workers == 1:
        state = AppState.open(s.index_dir, settings)
        log.info("serving %d videos from %s on http://%s:%d", len(state.index), s.index_dir, s.host, s.port)
        uvicorn.run(create_app(state), **common)
        return
    if not Path(s.index_dir).is_dir():
        raise StartupError(f"INDEX_DIR {s.index_dir} does not exist; build it with `vidstyle index build`")
    data = settings.model_dump(mode="json")
    data["serve"]["api_key"] = s.api_key.get_secret_value() if s.api_key else None
    for key in ("index_dir", "emb_dir"):
        if data["serve"][key] is not None:
            data["serve"][key] = str(Path(data["serve"][key]).resolve())
    os.environ[SETTINGS_ENV] = json.dumps(data)
    log.info("%d worker processes share %s (memory-mapped) on http://%s:%d", s.workers, s.index_dir, s.host, s.port)
    uvicorn.run("vidstyle.service.server:app_from_environment", factory=True, workers=s.workers, **common)


def app_from_environment():  # noqa: ANN201 - uvicorn factory
    """The app of one uvicorn worker process (used when serve.workers > 1)."""
    from vidstyle.service.api import AppState, create_app

    settings = Settings.model_validate(json.loads(os.environ[SETTINGS_ENV]))
    return create_app(AppState.open(settings.serve.index_dir, settings))
