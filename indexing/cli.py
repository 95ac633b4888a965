"""`vidstyle index build EMB_DIR --out INDEX_DIR` and `vidstyle query INDEX_DIR ...`.

`service/cli.py` mounts them: `app.add_typer(index_app, name="index")` and
`app.command("query")(query_command)`. User errors print one line on stderr and exit non-zero
(1: the inputs cannot be used, 2: bad flags); no tracebacks.
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from typing import NoReturn

import numpy as np
import typer
from vidstyle.core.settings import ConfigError, Settings, load_settings
from vidstyle.indexing.errors import EmbeddingsError, IndexLoadError, UnknownVideoError
from vidstyle.indexing.store import IndexSet

log = logging.getLogger(__name__)

index_app = typer.Typer(help="Build the style and content indexes.", no_args_is_help=True)


class Space(str, Enum):
    style = "style"
    content = "content"


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        fail(str(exc))


@index_app.callback()
def _index_group() -> None:
    """Build the style and content indexes from an embeddings dataset."""


@index_app.command("build")
def build_command(
    emb_dir: Path = typer.Argument(..., help="embeddings dataset written by `vidstyle embed`"),
    out: Path = typer.Option(..., "--out", "-o", help="INDEX_DIR to write (replaced atomically)"),
    config: Path | None = typer.Option(None, "--config", help="YAML settings file"),
) -> None:
    """Build the style index and the content index from the ok rows of EMB_DIR."""
    settings = _settings(config)
    try:
        index_set = IndexSet.from_embeddings(emb_dir, settings.index)
    except EmbeddingsError as exc:
        fail(str(exc))
    except ValueError as exc:  # e.g. pq_bytes that does not divide the dimension
        fail(f"cannot build the indexes: {exc}")
    try:
        index_set.save(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc}")
    manifest = index_set.manifest
    typer.echo(f"indexed {len(index_set)} videos (model {index_set.fingerprint}) into {out}")
    for space, entry in manifest["spaces"].items():
        typer.echo(f"  {space:<8} {entry['dims']:>5}-d  {entry['description']:<24} {entry['reason']}")


def _query_vector(index_set: IndexSet, file: Path, space: str, settings: Settings) -> np.ndarray:
    """Embed `file` with the configured model, which must be the one the index was built with."""
    from vidstyle.embedder.pipeline import embed_file  # heavy (torch); only file queries need it

    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        embedded = embed_file(file, settings)
    except (OSError, ValueError, RuntimeError) as exc:
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
    config: Path | None = typer.Option(None, "--config", help="YAML settings file"),
) -> None:
    """Nearest neighbours of an indexed video (--video-id) or of a new file (--file), best first."""
    if (video_id is None) == (file is None):
        fail("give exactly one of --video-id and --file", code=2)
    settings = _settings(config)
    try:
        index_set = IndexSet.load(index_dir, settings.index)
    except IndexLoadError as exc:
        fail(str(exc))
    try:
        if video_id is not None:
            results = index_set.search_id(video_id, space.value, k)
        else:
            assert file is not None
            results = index_set.search(_query_vector(index_set, file, space.value, settings), space.value, k)
    except UnknownVideoError as exc:
        fail(f"{exc} in {index_dir}")
    except ValueError as exc:
        fail(str(exc))
    if json_output:
        payload = {"space": space.value, "results": [{"video_id": v, "score": s} for v, s in results]}
        typer.echo(json.dumps(payload))
        return
    width = max([len("video_id"), *(len(v) for v, _ in results)])
    typer.echo(f"{'rank':>4}  {'video_id':<{width}}  score")
    for rank, (video, score) in enumerate(results, 1):
        typer.echo(f"{rank:>4}  {video:<{width}}  {score:.4f}")
