"""`vidstyle neighbours INDEX_DIR --space style|content|recommend -k K --out FILE.parquet [--engine local|ray]`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import ConfigOpt, RayAddressOpt, settings


class TableSpace(str, Enum):
    style = "style"
    content = "content"
    recommend = "recommend"


class Engine(str, Enum):
    """Where the searches run; both write the same table."""

    local = "local"
    ray = "ray"


def neighbours_command(
    index_dir: Annotated[Path, typer.Argument(metavar="INDEX_DIR", help="written by `vidstyle index build`")],
    space: Annotated[TableSpace, typer.Option("--space", help="style, content, or recommend (the API's blend)")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="the Parquet table to write")],
    k: Annotated[int, typer.Option("-k", min=1, metavar="K", help="neighbours per video")] = 10,
    engine: Annotated[Engine, typer.Option(
        help="local: batched searches in this process; ray: the parts searched by Ray workers, each loading "
        "INDEX_DIR (which every node must see at this path)",
    )] = Engine.local,
    address: RayAddressOpt = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    config: ConfigOpt = None,
) -> None:
    """Write every indexed video's top-K neighbours (itself left out, best first) to one Parquet table.

    Columns: video_id, neighbour_ids, scores. `recommend` ranks exactly as GET /v1/videos/{id}/recommend does,
    with the serve.* blend settings. Resumable: a rerun of the same request, with either engine, goes on where
    it stopped.
    """
    from vidstyle.indexing import IndexSet
    from vidstyle.indexing.neighbours import write_neighbours
    from vidstyle.indexing.recommend import Blend

    if address is not None and engine is not Engine.ray:
        raise typer.BadParameter("--address is for --engine ray", param_hint="'--address'")
    loaded = settings(config)
    blend = Blend.from_settings(loaded.serve) if space is TableSpace.recommend else None
    if engine is Engine.ray:
        from vidstyle.indexing.neighbours_ray import write_neighbours_ray

        summary = write_neighbours_ray(index_dir, loaded.index, space.value, k, out, blend=blend, progress=progress,
                                       address=address)
    else:
        index = IndexSet.load(index_dir, loaded.index)
        summary = write_neighbours(index, space.value, k, out, blend=blend, progress=progress)
    typer.echo(summary.line(out))
