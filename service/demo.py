"""`vidstyle demo`: the whole pipeline on a generated catalogue, small enough for 2 CPU cores in minutes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from embedder import dataset
from embedder.config import Settings
from embedder.pipeline import embed
from evaluation.synthetic import make_catalogue

DEMO_CONTENTS = ("cat", "coffee", "astronaut", "china", "city", "shapes")
DEMO_LOOKS = ("natural", "sepia", "pencil", "poster")


def exact_neighbours(emb_dir: Path, video_id: str, space: str, k: int) -> list[tuple[str, float]]:
    table = dataset.read_table(emb_dir, columns=["video_id", "status", space])
    ok = [i for i, s in enumerate(table.column("status").to_pylist()) if s == "ok"]
    ids = [table.column("video_id")[i].as_py() for i in ok]
    vecs = np.stack([np.asarray(table.column(space)[i].as_py(), np.float32) for i in ok])
    q = vecs[ids.index(video_id)]
    scores = vecs @ q
    order = [i for i in np.argsort(-scores) if ids[i] != video_id][:k]
    return [(ids[i], float(scores[i])) for i in order]


def run_demo(workdir: Path, settings: Settings, serve: bool = False, k: int = 5) -> None:
    workdir = Path(workdir)
    videos_dir, emb_dir = workdir / "videos", workdir / "embeddings"
    typer.echo(f"1/3 generating {len(DEMO_CONTENTS) * len(DEMO_LOOKS)} H.264 videos in {videos_dir}")
    if not any(videos_dir.glob("*.mp4")):
        make_catalogue(videos_dir, DEMO_CONTENTS, DEMO_LOOKS)
    typer.echo(f"2/3 embedding with {settings.model.backbone}")
    summary = embed(videos_dir, emb_dir, settings)
    typer.echo(summary.line(emb_dir))
    query = "cat__sepia"
    typer.echo(f"3/3 neighbours of {query!r} (exact search)")
    for space, what in (("style", "same look"), ("content", "same subject")):
        typer.echo(f"  {space} ({what} expected):")
        for vid, score in exact_neighbours(emb_dir, query, space, k):
            typer.echo(f"    {score:6.3f}  {vid}")
    if serve:
        from indexing import IndexSet
        from service.server import serve as run_server

        index_dir = workdir / "index"
        IndexSet.from_embeddings(emb_dir, settings.index).save(index_dir)
        s = settings.serve
        s.index_dir, s.emb_dir = index_dir, emb_dir
        typer.echo(f"serving the API and web page on http://{s.host}:{s.port}/ (Ctrl-C to stop)")
        run_server(settings)
