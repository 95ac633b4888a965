"""`vidstyle serve INDEX_DIR`: the HTTP API and web page under uvicorn.

With one worker (the default) the index is loaded here, before uvicorn starts, so a bad INDEX_DIR is a one-line
error rather than a crashed server. With several workers uvicorn starts separate processes, and each builds its
own state from the same settings, passed to them through the environment (`app_from_environment`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from embedder.config import Settings, load_settings

log = logging.getLogger("vidstyle.serve")

# Names of the environment variables that carry the parent's settings into uvicorn's worker processes.
_ENV = {"index_dir": "VIDSTYLE_SERVE__INDEX_DIR", "emb_dir": "VIDSTYLE_SERVE__EMB_DIR"}


def serve(settings: Settings, config_file: Path | None = None, log_level: str = "info") -> None:
    """Run the service until interrupted; `settings.serve.index_dir` names what to serve."""
    import uvicorn

    from service.api import AppState, create_app

    s = settings.serve
    if s.index_dir is None:
        raise ValueError("no INDEX_DIR to serve")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    common = {"host": s.host, "port": s.port, "log_level": log_level, "access_log": s.access_log}
    if s.workers == 1:
        state = AppState.open(s.index_dir, settings)
        log.info("serving %d videos from %s on http://%s:%d", len(state.index), s.index_dir, s.host, s.port)
        uvicorn.run(create_app(state), **common)
        return
    # Worker processes re-read the settings: the config file and the environment, plus the values set here.
    if config_file is not None:
        os.environ["VIDSTYLE_CONFIG"] = str(Path(config_file).resolve())
    os.environ[_ENV["index_dir"]] = str(Path(s.index_dir).resolve())
    if s.emb_dir is not None:
        os.environ[_ENV["emb_dir"]] = str(Path(s.emb_dir).resolve())
    uvicorn.run("service.server:app_from_environment", factory=True, workers=s.workers, **common)


def app_from_environment():  # noqa: ANN201 - uvicorn factory
    """The app of one uvicorn worker process (used when serve.workers > 1)."""
    from service.api import AppState, create_app

    settings = load_settings()
    if settings.serve.index_dir is None:
        raise RuntimeError(f"{_ENV['index_dir']} is not set")
    return create_app(AppState.open(settings.serve.index_dir, settings))


def serve_command(
    index_dir: Annotated[Path, typer.Argument(help="INDEX_DIR built by `vidstyle index build`")],
    host: Annotated[str | None, typer.Option(help="bind address (default serve.host)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default serve.port)")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes (default serve.workers)")] = None,
    emb_dir: Annotated[
        Path | None,
        typer.Option("--emb-dir", help="embeddings dataset (default: the one the index was built from)"),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML settings file (see configs/)")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Serve the HTTP API and the web page for INDEX_DIR."""
    from service.cli import settings_from, user_errors

    given = {"index_dir": index_dir, "host": host, "port": port, "workers": workers, "emb_dir": emb_dir}
    settings = settings_from(config, {"serve": {k: v for k, v in given.items() if v is not None}})
    with user_errors():
        serve(settings, config_file=config, log_level=log_level)
