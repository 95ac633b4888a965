"""`vidstyle embed SOURCE --out EMB_DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import INTERRUPTED_EXIT, ConfigOpt, fail, settings
from vidstyle.media.decode import ANIMATED_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES


def embed_command(
    source: Annotated[Path, typer.Argument(
        metavar="SOURCE",
        help=f"folder searched recursively for videos ({', '.join(sorted(VIDEO_SUFFIXES))}), or a manifest "
        ".csv/.parquet with columns video_id, path",
    )],
    out: Annotated[Path, typer.Option("--out", metavar="EMB_DIR", help="the Parquet dataset to write or resume")],
    config: ConfigOpt = None,
    workers: Annotated[int | None, typer.Option(metavar="N", help="decode worker processes")] = None,
    engine: Annotated[str, typer.Option(metavar="ENGINE", help="where the job runs; only 'local' for now")] = "local",
    include_images: Annotated[bool, typer.Option(
        "--include-images",
        help=f"also embed images ({', '.join(sorted(IMAGE_SUFFIXES | ANIMATED_SUFFIXES))}) as one-frame videos "
        "(GIFs frame by frame)",
    )] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="embed again the videos that failed")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Embed every video of SOURCE into EMB_DIR; a rerun resumes where an earlier run stopped.

    Video ids are paths relative to SOURCE without the suffix (kept when two files differ only in it); a file
    already in EMB_DIR keeps its id. Files that are not videos are counted and left out.
    """
    from vidstyle.embedder.pipeline import embed

    if engine != "local":
        fail(f"engine {engine!r} is not available; only 'local' is")
    loaded = settings(config, {"decode": {"workers": workers}} if workers else None)
    try:
        summary = embed(source, out, loaded, progress=progress, include_images=include_images,
                        retry_failed=retry_failed)
    except KeyboardInterrupt:
        fail("interrupted; finished videos are saved, rerun the same command to resume", code=INTERRUPTED_EXIT)
    typer.echo(summary.line(out))
