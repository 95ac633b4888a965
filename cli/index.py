"""`vidstyle index build EMB_DIR --out INDEX_DIR` and `vidstyle query INDEX_DIR ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from vidstyle.cli.common import Command, ConfigOpt, fail, settings
from vidstyle.core.settings import Settings
from vidstyle.core.spaces import Space
from vidstyle.embedder import dataset
from vidstyle.indexing import IndexSet, UnknownVideoError

index_app = typer.Typer(help="Build the style and content indexes.", no_args_is_help=True)


@index_app.callback()
def _index_group() -> None:
    """Build the style and content indexes from an embeddings dataset."""


@index_app.command("build", cls=Command)
def build_command(
    emb_dir: Annotated[Path, typer.Argument(metavar="EMB_DIR", help="embeddings dataset written by `vidstyle embed`")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="INDEX_DIR", help="where to write (replaced atomically)")],
    config: ConfigOpt = None,
) -> None:
    """Build the style index and the content index from the ok rows of EMB_DIR."""
    index_set = IndexSet.from_embeddings(emb_dir, settings(config).index)
    try:
        index_set.save(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc}")
    manifest = index_set.manifest
    failed = dataset.failed_rows(emb_dir)
    left_out = f", left out {len(failed)} failed rows (`vidstyle embed --retry-failed` retries them)" if failed else ""
    typer.echo(f"indexed {len(index_set)} videos (model {index_set.fingerprint}) into {out}{left_out}")
    for space, entry in manifest["spaces"].items():
        typer.echo(f"  {space:<8} {entry['dims']:>5}-d  {entry['description']:<24} {entry['reason']}")


def _query_vector(index_set: IndexSet, file: Path, space: str, loaded: Settings) -> np.ndarray:
    """Embed `file` with the index's model (recorded with its dataset, unless a config overrides it)."""
    from vidstyle.embedder.pipeline import embed_file

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


def _unknown(index_set: IndexSet, video_id: str, index_dir: Path) -> str:
    """Why `video_id` is not in the index: it failed to embed (and why), or it is not in the catalogue."""
    reason = dataset.failed_rows(index_set.emb_dir).get(video_id) if index_set.emb_dir is not None else None
    if reason is not None:
        return f"video {video_id!r} failed to embed, so it is not indexed: {reason}"
    return f"unknown video id {video_id!r} in {index_dir}"


def query_command(
    index_dir: Annotated[Path, typer.Argument(metavar="INDEX_DIR", help="written by `vidstyle index build`")],
    space: Annotated[Space, typer.Option("--space", help="style or content")],
    video_id: Annotated[str | None, typer.Option("--video-id", metavar="ID", help="an indexed video")] = None,
    file: Annotated[Path | None, typer.Option("--file", metavar="PATH", help="a video or image, embedded now")] = None,
    k: Annotated[int, typer.Option("-k", min=1, metavar="K", help="number of neighbours")] = 10,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    config: ConfigOpt = None,
) -> None:
    """Nearest neighbours of an indexed video (--video-id) or of a new file (--file), best first.

    --file embeds with the model the index was built with (recorded with its dataset); --config overrides it.
    """
    if (video_id is None) == (file is None):
        fail("give exactly one of --video-id and --file", code=2)
    index_set = IndexSet.load(index_dir, settings(config).index)
    try:
        if video_id is not None:
            results = index_set.search_id(video_id, space.value, k)
        else:
            assert file is not None
            loaded = settings(config, index_dir=index_dir)
            results = index_set.search(_query_vector(index_set, file, space.value, loaded), space.value, k)
    except UnknownVideoError:
        fail(_unknown(index_set, str(video_id), index_dir))
    if json_output:
        payload = {"space": space.value, "results": [{"video_id": v, "score": s} for v, s in results]}
        typer.echo(json.dumps(payload))
        return
    width = max([len("video_id"), *(len(v) for v, _ in results)])
    typer.echo(f"{'rank':>4}  {'video_id':<{width}}  score")
    for rank, (video, score) in enumerate(results, 1):
        typer.echo(f"{rank:>4}  {video:<{width}}  {score:.4f}")
