"""The `vidstyle` command line: one subcommand per stage, each a thin wrapper over its stage's entry point.

Exit status: 0 on success, 1 (`USER_ERROR_EXIT`) when the inputs cannot be used, with a one-line reason on stderr,
2 for bad flags (click's), 130 when interrupted. Anything else is a bug and prints its traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vidstyle import __version__
from vidstyle.cli import demo, embed, evaluate, evaluate_recommend, index, neighbours, serve, style, style_head
from vidstyle.cli.common import INTERRUPTED_EXIT, Command, ReportingGroup

app = typer.Typer(
    cls=ReportingGroup,
    help="vidstyle: separate style and content embeddings for video recommendation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain click help: SOURCE, not {SOURCE}; flags without a <bool> metavar
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vidstyle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """vidstyle: separate style and content embeddings for video recommendation."""


app.command("embed", cls=Command)(embed.embed_command)
app.command("demo", cls=Command)(demo.demo_command)
app.add_typer(index.index_app, name="index", help="Build the style and content FAISS indexes.")
app.command("query", cls=Command)(index.query_command)
app.command("neighbours", cls=Command)(neighbours.neighbours_command)
app.command("serve", cls=Command)(serve.serve_command)
app.command("eval", cls=Command)(evaluate.eval_command)
app.command("eval-retrieval", cls=Command)(evaluate.eval_retrieval_command)
app.command("make-benchmark", cls=Command)(evaluate.make_benchmark_command)
app.command("eval-recommend", cls=Command)(evaluate_recommend.eval_recommend_command)
app.command("train-style", cls=Command)(style.train_style_command)
app.command("stylize", cls=Command)(style.stylize_command)
app.command("stylize-compare", cls=Command)(style.stylize_compare_command)
app.command("train-style-head", cls=Command)(style_head.train_style_head_command)
app.command("train-content-head", cls=Command)(style_head.train_content_head_command)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(INTERRUPTED_EXIT)
