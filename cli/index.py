"""`vidstyle index build EMB_DIR --out INDEX_DIR` and `vidstyle query INDEX_DIR ...`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from vidstyle.cli.common import ConfigOpt, fail, settings
from vidstyle.core.settings import Settings
from vidstyle.core.spaces import Space
from vidstyle.indexing import IndexSet, UnknownVideoError

index_app = typer.Typer(help="Build the style and content indexes.", no_args_is_help=True)


@index_app.callback()
def _index_group() -> None:
    """Build the style and content indexes from an embeddings dataset."""


@index_app.command("build")
def build_command(
    emb_dir: Path = typer.Argument(..., help="embeddings dataset written by `vidstyle embed`"),
    out: Path = typer.Option(..., "--out", "-o", help="INDEX_DIR to write (replaced atomically)"),
    config: ConfigOpt = None,
) -> None:
    """Build the style index and the content index from the ok rows of EMB_DIR."""
    index_set = IndexSet.from_embeddings(emb_dir, settings(config).index)
    try:
        index_set.save(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc}")
    manifest = index_set.manifest
    typer.echo(f"indexed {len(index_set)} videos (model {index_set.fingerprint}) into {out}")
    for space, entry in manifest["spaces"].items():
        typer.echo(f"  {space:<8} {entry['dims']:>5}-d  {entry['description']:<24} {entry['reason']}")


def _query_vector(index_set: IndexSet, file: Path, space: str, loaded: Settings) -> np.ndarray:
    """Embed `file` with the configured model, which must be the one the index was built with."""
    from vidstyle.embedder.pipeline import embed_file  # heavy (torch); only file queries need it

    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        embedded = embed_file(file, loaded)
    except (OSError, RuntimeError) as exc:
        fail(f"cannot embed {file}: {exc}")
    if embedded.fingerprint != index_set.fingerprint:
        fail(
            f"{file} was embedded with model {embedded.fingerprint!r} but the index holds "
            f"{index_set.fingerprint!r}; pass the --config the index was built with"
        )
    column = index_set.columns[space]
    if column not in embedded.vectors:
        fail(f"the embedder produced no {column!r} vector, which the {space} index holds")
    return np.asarray(embedded.vectors[column], dtype=np.float32)


def query_command(
    index_dir: Path = typer.Argument(..., help="INDEX_DIR written by `vidstyle index build`"),
    video_id: str | None = typer.Option(None, "--video-id", help="neighbours of this indexed video"),
    file: Path | None = typer.Option(None, "--file", help="neighbours of this video or image (embedded now)"),
    space: Space = typer.Option(..., "--space", help="style or content"),
    k: int = typer.Option(10, "-k", "--k", min=1, help="number of neighbours"),
    json_output: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    config: ConfigOpt = None,
) -> None:
    """Nearest neighbours of an indexed video (--video-id) or of a new file (--file), best first."""
    if (video_id is None) == (file is None):
        fail("give exactly one of --video-id and --file", code=2)
    loaded = settings(config)
    index_set = IndexSet.load(index_dir, loaded.index)
    try:
        if video_id is not None:
            results = index_set.search_id(video_id, space.value, k)
        else:
            assert file is not None
            results = index_set.search(_query_vector(index_set, file, space.value, loaded), space.value, k)
    except UnknownVideoError as exc:
        fail(f"{exc} in {index_dir}")
    if json_output:
        payload = {"space": space.value, "results": [{"video_id": v, "score": s} for v, s in results]}
        typer.echo(json.dumps(payload))
        return
    width = max([len("video_id"), *(len(v) for v, _ in results)])
    typer.echo(f"{'rank':>4}  {'video_id':<{width}}  score")
    for rank, (video, score) in enumerate(results, 1):
        typer.echo(f"{rank:>4}  {video:<{width}}  {score:.4f}")
