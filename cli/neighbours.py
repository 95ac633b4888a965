"""`vidstyle neighbours INDEX_DIR --space style|content|recommend -k K --out FILE.parquet`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import ConfigOpt, fail, settings


class TableSpace(str, Enum):
    style = "style"
    content = "content"
    recommend = "recommend"


def neighbours_command(
    index_dir: Annotated[Path, typer.Argument(metavar="INDEX_DIR", help="written by `vidstyle index build`")],
    space: Annotated[TableSpace, typer.Option("--space", help="style, content, or recommend (the API's blend)")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="the Parquet table to write")],
    k: Annotated[int, typer.Option("-k", min=1, metavar="K", help="neighbours per video")] = 10,
    engine: Annotated[str, typer.Option(metavar="ENGINE", help="where the job runs; only 'local' for now")] = "local",
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    config: ConfigOpt = None,
) -> None:
    """Write every indexed video's top-K neighbours (itself left out, best first) to one Parquet table.

    Columns: video_id, neighbour_ids, scores. `recommend` ranks exactly as GET /v1/videos/{id}/recommend does,
    with the serve.* blend settings. Resumable: a rerun of the same request goes on where it stopped.
    """
    from vidstyle.indexing import IndexSet
    from vidstyle.indexing.neighbours import Blend, write_neighbours

    if engine != "local":
        fail(f"engine {engine!r} is not available; only 'local' is")
    loaded = settings(config)
    index = IndexSet.load(index_dir, loaded.index)
    blend = Blend.from_settings(loaded.serve) if space is TableSpace.recommend else None
    summary = write_neighbours(index, space.value, k, out, blend=blend, progress=progress)
    typer.echo(summary.line(out))
