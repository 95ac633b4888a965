"""What every `vidstyle` subcommand shares: the --config option, settings loading, and how errors are reported.

A `VidstyleError` raised anywhere below a command becomes one line on stderr and exit status
`USER_ERROR_EXIT` (the same for every command); any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from typer.core import TyperGroup

from vidstyle.core.errors import USER_ERROR_EXIT, VidstyleError, first_line
from vidstyle.core.settings import Settings, load_settings

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML settings file (see configs/)")]
INTERRUPTED_EXIT = 130


def fail(message: str, code: int = USER_ERROR_EXIT) -> NoReturn:
    """Stop the command with a one-line reason on stderr."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings(config: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults < --config FILE (or VIDSTYLE_CONFIG) < VIDSTYLE_* environment < `overrides` (the CLI flags)."""
    return load_settings(config, overrides)


class ReportingGroup(TyperGroup):
    """A command group that turns user errors (VidstyleError) from any subcommand into one line and one code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VidstyleError as exc:
            fail(first_line(exc))
