"""`vidstyle embed SOURCE --out EMB_DIR [--engine local|ray] [--address ADDR]`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from vidstyle.cli.common import INTERRUPTED_EXIT, ConfigOpt, RayAddressOpt, fail, settings
from vidstyle.core import storage
from vidstyle.media.decode import ANIMATED_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES


class Engine(str, Enum):
    """Where the embed job runs; both write the same rows (docs/CONTRACT.md)."""

    local = "local"
    ray = "ray"


def embed_command(
    source: Annotated[str, typer.Argument(
        metavar="SOURCE",
        help=f"folder searched recursively for videos ({', '.join(sorted(VIDEO_SUFFIXES))}), or a manifest "
        ".csv/.parquet with columns video_id, path; either may be an s3:// or gs:// URL",
    )],
    out: Annotated[str, typer.Option(
        "--out", metavar="EMB_DIR", help="the Parquet dataset to write or resume (a folder, or an s3:// or gs:// URL)",
    )],
    config: ConfigOpt = None,
    workers: Annotated[int | None, typer.Option(
        metavar="N", help="decode worker processes (with --engine ray: decode actors)",
    )] = None,
    engine: Annotated[Engine, typer.Option(
        help="local: decode workers and the model on this machine; ray: the same job on Ray Data",
    )] = Engine.local,
    address: RayAddressOpt = None,
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
    if address is not None and engine is not Engine.ray:
        raise typer.BadParameter("--address is for --engine ray", param_hint="'--address'")
    loaded = settings(config, {"decode": {"workers": workers}} if workers else None)
    src, emb_dir = storage.location(source), storage.location(out)  # a URL stays text, a path becomes a Path
    try:
        if engine is Engine.ray:
            from vidstyle.embedder.ray_engine import embed_ray

            summary = embed_ray(src, emb_dir, loaded, address=address, workers=workers, progress=progress,
                                include_images=include_images, retry_failed=retry_failed)
        else:
            from vidstyle.embedder.pipeline import embed

            summary = embed(src, emb_dir, loaded, progress=progress, include_images=include_images,
                            retry_failed=retry_failed)
    except KeyboardInterrupt:
        fail("interrupted; finished videos are saved, rerun the same command to resume", code=INTERRUPTED_EXIT)
    typer.echo(summary.line(out))
