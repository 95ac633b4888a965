"""`vidstyle serve INDEX_DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import ConfigOpt, settings


def serve_command(
    index_dir: Annotated[Path, typer.Argument(help="INDEX_DIR built by `vidstyle index build`")],
    host: Annotated[str | None, typer.Option(help="bind address (default serve.host)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default serve.port)")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes (default serve.workers)")] = None,
    emb_dir: Annotated[
        Path | None,
        typer.Option("--emb-dir", help="embeddings dataset (default: the one the index was built from)"),
    ] = None,
    config: ConfigOpt = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Serve the HTTP API and the web page for INDEX_DIR.

    Uploads are embedded with the model the index was built with (recorded with its dataset); --config overrides.
    """
    from vidstyle.service.server import serve

    given = {"index_dir": index_dir, "host": host, "port": port, "workers": workers, "emb_dir": emb_dir}
    overrides = {"serve": {k: v for k, v in given.items() if v is not None}}
    serve(settings(config, overrides, index_dir=index_dir, emb_dir=emb_dir), log_level=log_level)
