"""What every `vidstyle` subcommand shares: the --config option, settings loading, and how errors are reported.

A `VidstyleError` raised anywhere below a command becomes one line on stderr and exit status
`USER_ERROR_EXIT` (the same for every command); any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from typer.core import TyperCommand, TyperGroup

from vidstyle.core.errors import USER_ERROR_EXIT, VidstyleError, first_line
from vidstyle.core.settings import Settings, load_settings

RayAddressOpt = Annotated[str | None, typer.Option(
    "--address", metavar="ADDR",
    help="with --engine ray: the Ray cluster to join ('auto', or the head's host:port); "
    "without it a local Ray instance sized to this machine is started",
)]
ConfigOpt = Annotated[Path | None, typer.Option("--config", metavar="FILE", help="YAML settings file (see configs/)")]
INTERRUPTED_EXIT = 130


def fail(message: str, code: int = USER_ERROR_EXIT) -> NoReturn:
    """Stop the command with a one-line reason on stderr."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings(
    config: Path | None,
    overrides: dict[str, Any] | None = None,
    *,
    index_dir: Path | None = None,
    emb_dir: Path | None = None,
) -> Settings:
    """Defaults < the model the data was made with < --config FILE (or VIDSTYLE_CONFIG) < VIDSTYLE_* environment
    < `overrides` (the CLI flags).

    With `index_dir` (and optionally its `emb_dir`), the embeddings dataset's record of the model settings behind
    its fingerprint comes in, so a command that embeds new files against it (`query --file`, `serve`) uses that
    model without a --config.
    """
    recorded = _recorded(index_dir, emb_dir) if index_dir is not None else None
    return load_settings(config, overrides, recorded)


def _recorded(index_dir: Path, emb_dir: Path | None) -> dict[str, Any] | None:
    from vidstyle.embedder.dataset import recorded_settings
    from vidstyle.indexing.persistence import read_manifest, recorded_emb_dir

    try:
        emb_dir = emb_dir or recorded_emb_dir(index_dir)
        fingerprint = read_manifest(index_dir).get("fingerprint")
    except VidstyleError:
        return None  # not an index (yet): the command itself reports that
    return recorded_settings(emb_dir, fingerprint) if emb_dir is not None and emb_dir.is_dir() else None


class ReportingGroup(TyperGroup):
    """The `vidstyle` group: user errors (VidstyleError) from any subcommand become one line and one exit code,
    and help names every value by its parameter (`--out OUT`, `SOURCE`), not by its type (`<path>`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_metavars(self)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VidstyleError as exc:
            fail(first_line(exc))


class Command(TyperCommand):
    """A subcommand whose usage line names its arguments as click does (`SOURCE`, `[OUT]`); typer writes a
    required one as `{SOURCE}`, which reads as a set or a placeholder to fill in, not as an argument."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            argument = param.param_type_name == "argument"
            pieces += [_usage_name(param)] if argument else param.get_usage_pieces(ctx)
        return pieces


def _usage_name(argument: click.Parameter) -> str:
    name = argument.metavar or (argument.name or "").upper()
    name = name if argument.required else f"[{name}]"
    return name + ("..." if argument.nargs != 1 else "")


def _name_metavars(command: click.Command) -> None:
    for param in command.params:
        descriptor = getattr(param, "type_descriptor", None)
        named = param.metavar is not None or (descriptor is not None and descriptor.is_choice)
        if not named and not getattr(param, "is_flag", False) and param.name:
            param.metavar = param.name.upper()
    for sub in getattr(command, "commands", {}).values():
        _name_metavars(sub)
