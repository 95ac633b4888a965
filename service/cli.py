"""The `vidstyle` command line: one subcommand per stage, each a thin wrapper over its module's entry point."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from vidstyle.core.settings import Settings, load_settings
from vidstyle.indexing.cli import index_app, query_command
from vidstyle.service.server import serve_command

app = typer.Typer(
    help="vidstyle: separate style and content embeddings for video recommendation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML settings file (see configs/)")]


def fail(message: str, code: int = 2) -> None:
    """Exit non-zero with a one-line reason on stderr (no traceback for user errors)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the expected failures of a command into one-line messages."""
    from vidstyle.embedder.backbones import WeightsUnavailable

    try:
        yield
    except (ValueError, FileNotFoundError, WeightsUnavailable) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def settings_from(config: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    with user_errors():
        return load_settings(config, overrides)


@app.command()
def embed(
    source: Annotated[Path, typer.Argument(help="folder of videos (recursive) or manifest .csv/.parquet")],
    out: Annotated[Path, typer.Option("--out", help="EMB_DIR: the Parquet dataset to write or resume")],
    config: ConfigOpt = None,
    workers: Annotated[int | None, typer.Option(help="decode worker processes")] = None,
    engine: Annotated[str, typer.Option(help="local (ray arrives with the scale-out work)")] = "local",
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Embed every video of SOURCE into EMB_DIR; a rerun resumes where an earlier run stopped."""
    from vidstyle.embedder.pipeline import embed as run_embed

    if engine != "local":
        fail(f"engine {engine!r} is not available; only 'local' is")
    overrides = {"decode": {"workers": workers}} if workers else None
    settings = settings_from(config, overrides)
    with user_errors():
        try:
            summary = run_embed(source, out, settings, progress=progress)
        except KeyboardInterrupt:
            fail("interrupted; finished videos are saved, rerun the same command to resume", code=130)
    typer.echo(summary.line(out))


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="where the sample catalogue, embeddings and indexes go")] = Path(
        "vidstyle-demo"
    ),
    serve: Annotated[bool, typer.Option("--serve", help="then serve the API and web page")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="settings (default: configs/offline.yaml, no network)")
    ] = None,
) -> None:
    """Make a sample catalogue of real H.264 videos, embed it, index it, print one video's neighbours."""
    from vidstyle.service.demo import run_demo

    settings = settings_from(config or default_offline_config())
    with user_errors():
        run_demo(workdir, settings, serve=serve)


app.add_typer(index_app, name="index", help="build the style and content FAISS indexes")
app.command("query")(query_command)
app.command("serve")(serve_command)


def default_offline_config() -> Path:
    """configs/offline.yaml of the working directory, else of the source tree this package runs from."""
    repo_root = Path(__file__).resolve().parents[1]
    for candidate in (Path.cwd() / "configs" / "offline.yaml", repo_root / "configs" / "offline.yaml"):
        if candidate.is_file():
            return candidate
    fail("configs/offline.yaml not found; pass --config")
    raise AssertionError  # unreachable


# `eval`, `eval-retrieval`, `make-benchmark`: defined in evaluation/cli.py (owned by the evaluation work).
from vidstyle.evaluation.cli import register as _register_evaluation  # noqa: E402

_register_evaluation(app)

# `train-style`, `stylize`: defined in embedder/cin_cli.py (owned by the learned-style work).
from vidstyle.embedder.cin_cli import register as _register_cin  # noqa: E402

_register_cin(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
