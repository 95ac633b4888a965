"""`vidstyle demo`: the whole pipeline on a generated catalogue, small enough for 2 CPU cores in minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import fail, settings
from vidstyle.core.settings import Settings

DEMO_CONTENTS = ("cat", "coffee", "astronaut", "china", "city", "shapes")
DEMO_LOOKS = ("natural", "sepia", "pencil", "poster")


def demo_command(
    workdir: Annotated[Path, typer.Option(help="where the sample catalogue, embeddings and indexes go")] = Path(
        "vidstyle-demo"
    ),
    serve: Annotated[bool, typer.Option("--serve", help="then serve the API and web page")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="settings (default: configs/offline.yaml, no network)")
    ] = None,
) -> None:
    """Make a sample catalogue of real H.264 videos, embed it, index it, print one video's neighbours."""
    run_demo(workdir, settings(config or default_offline_config()), serve=serve)


def default_offline_config() -> Path:
    """configs/offline.yaml of the working directory, else of the source tree this package runs from."""
    repo_root = Path(__file__).resolve().parents[1]
    for candidate in (Path.cwd() / "configs" / "offline.yaml", repo_root / "configs" / "offline.yaml"):
        if candidate.is_file():
            return candidate
    fail("configs/offline.yaml not found; pass --config")


def run_demo(workdir: Path, settings: Settings, serve: bool = False, k: int = 5) -> None:
    from vidstyle.embedder.pipeline import embed
    from vidstyle.indexing import IndexSet
    from vidstyle.media.samples import make_catalogue

    workdir = Path(workdir)
    videos_dir, emb_dir, index_dir = workdir / "videos", workdir / "embeddings", workdir / "index"
    typer.echo(f"1/4 generating {len(DEMO_CONTENTS) * len(DEMO_LOOKS)} H.264 videos in {videos_dir}")
    if not any(videos_dir.glob("*.mp4")):
        make_catalogue(videos_dir, DEMO_CONTENTS, DEMO_LOOKS)
    typer.echo(f"2/4 embedding with {settings.model.backbone}")
    summary = embed(videos_dir, emb_dir, settings)
    typer.echo(summary.line(emb_dir))
    typer.echo(f"3/4 building the style and content indexes in {index_dir}")
    index = IndexSet.from_embeddings(emb_dir, settings.index)
    index.save(index_dir)
    query = "cat__sepia"
    typer.echo(f"4/4 neighbours of {query!r}")
    for space, what in (("style", "same look, other subjects"), ("content", "same subject, other looks")):
        typer.echo(f"  {space} ({what} expected):")
        for vid, score in index.search_id(query, space, k):
            typer.echo(f"    {score:6.3f}  {vid}")
    if serve:
        from vidstyle.service.server import serve as run_server

        s = settings.serve
        s.index_dir, s.emb_dir = index_dir, emb_dir
        typer.echo(f"serving the API and web page on http://{s.host}:{s.port}/ (Ctrl-C to stop)")
        run_server(settings)
