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
    content, look = query.split("__")
    others = len(DEMO_CONTENTS) - 1
    typer.echo(f"4/4 neighbours of {query!r}; each row says whether it matches the query's look and subject")
    expectations = (
        ("style", f"the {others} other {look!r} videos should come first", lambda c, lk: lk == look),
        ("content", f"the {len(DEMO_LOOKS) - 1} other {content!r} videos should come first",
         lambda c, lk: c == content),
    )
    for space, expected, matches in expectations:
        typer.echo(f"  {space}: {expected}")
        for vid, score in index.search_id(query, space, k):
            c, lk = vid.split("__")
            mark = "same look" if lk == look else "other look"
            mark += ", same subject" if c == content else ", other subject"
            typer.echo(f"    {score:6.3f}  {vid:<20} {'✓' if matches(c, lk) else '·'} {mark}")
    typer.echo(
        "next:\n"
        f"  vidstyle query {index_dir} --video-id {query} --space content -k 10\n"
        f"  vidstyle query {index_dir} --file {videos_dir / 'city__pencil.mp4'} --space style\n"
        f"  vidstyle demo --workdir {workdir} --serve     # the API and the web page on http://127.0.0.1:8000/"
    )
    if serve:
        from vidstyle.service.server import serve as run_server

        s = settings.serve
        s.index_dir, s.emb_dir = index_dir, emb_dir
        typer.echo(f"serving the API and web page on http://{s.host}:{s.port}/ (Ctrl-C to stop)")
        run_server(settings)
