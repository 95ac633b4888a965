"""`vidstyle embed SOURCE --out EMB_DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import INTERRUPTED_EXIT, ConfigOpt, fail, settings


def embed_command(
    source: Annotated[Path, typer.Argument(help="folder of videos (recursive) or manifest .csv/.parquet")],
    out: Annotated[Path, typer.Option("--out", help="EMB_DIR: the Parquet dataset to write or resume")],
    config: ConfigOpt = None,
    workers: Annotated[int | None, typer.Option(help="decode worker processes")] = None,
    engine: Annotated[str, typer.Option(help="where the job runs; only 'local' for now")] = "local",
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Embed every video of SOURCE into EMB_DIR; a rerun resumes where an earlier run stopped."""
    from vidstyle.embedder.pipeline import embed

    if engine != "local":
        fail(f"engine {engine!r} is not available; only 'local' is")
    loaded = settings(config, {"decode": {"workers": workers}} if workers else None)
    try:
        summary = embed(source, out, loaded, progress=progress)
    except KeyboardInterrupt:
        fail("interrupted; finished videos are saved, rerun the same command to resume", code=INTERRUPTED_EXIT)
    typer.echo(summary.line(out))
