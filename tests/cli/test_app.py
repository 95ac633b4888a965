"""The `vidstyle` command as a whole: every subcommand listed, --version, one exit code for user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from vidstyle import __version__
from vidstyle.cli.app import app
from vidstyle.cli.common import ReportingGroup
from vidstyle.core.errors import USER_ERROR_EXIT, VidstyleError

runner = CliRunner()
CONTRACT_COMMANDS = {"demo", "embed", "index", "query", "serve", "eval", "eval-retrieval", "make-benchmark",
                     "train-style", "stylize", "neighbours"}


def _vidstyle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vidstyle", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_every_subcommand_and_each_has_help() -> None:
    listed = runner.invoke(app, ["--help"])
    assert listed.exit_code == 0
    for name in CONTRACT_COMMANDS:
        assert name in listed.stdout
        sub = runner.invoke(app, [*name.split(), "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.stdout, name
        short = runner.invoke(app, [*name.split(), "-h"])
        assert short.exit_code == 0 and short.stdout == sub.stdout, name
        options = sub.stdout[sub.stdout.index("Options:"):]
        assert "<bool>" not in sub.stdout and "<path>" not in options and "<int>" not in options, sub.stdout
        assert "--k " not in sub.stdout, sub.stdout


def _leaf_commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) of every command below `group` that is not itself a group (typer's own click types)."""
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found += _leaf_commands(command, path) if hasattr(command, "commands") else [(path, command)]
    return found


def test_usage_lines_name_arguments_plainly() -> None:
    """Every subcommand's usage line names its arguments as in the docs (`SOURCE`), not typer's `{SOURCE}`."""
    commands = _leaf_commands(typer.main.get_command(app))
    assert len(commands) >= len(CONTRACT_COMMANDS)
    for path, command in commands:
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).stdout
        usage = text.splitlines()[0]
        arguments = [p.metavar for p in command.params if p.param_type_name == "argument"]
        assert all(a and a == a.upper() for a in arguments), (path, arguments)
        assert usage.endswith(" ".join([" ".join(path), "[OPTIONS]", *arguments])), usage
        assert "{" not in usage and "}" not in usage, usage
    embed = runner.invoke(app, ["embed", "--help"], env={"COLUMNS": "200"}).stdout.splitlines()[0]
    assert embed.endswith("embed [OPTIONS] SOURCE"), embed


def test_embed_help_lists_the_extensions_it_picks_up() -> None:
    text = runner.invoke(app, ["embed", "--help"], env={"COLUMNS": "200"}).stdout
    assert ".mp4" in text and ".webm" in text and "--include-images" in text and ".png" in text


def test_version_answers() -> None:
    result = _vidstyle("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"vidstyle {__version__}"
    assert __version__ != "0+unknown"  # the installed distribution's version


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["embed", "/nonexistent", "--out", "x"], "SOURCE /nonexistent does not exist"),
        (["index", "build", "/nonexistent", "--out", "y"], "no such embeddings directory"),
        (["query", "/nonexistent", "--video-id", "x", "--space", "style"], "not an index directory"),
    ],
)
def test_user_errors_exit_with_one_code_and_one_line(args: list[str], reason: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "vidstyle", *args], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == USER_ERROR_EXIT == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], result.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_only_user_errors_are_shortened() -> None:
    """A VidstyleError becomes one line; any other exception is a bug and keeps its traceback."""
    probe = typer.Typer(cls=ReportingGroup)

    @probe.command()
    def user() -> None:
        raise VidstyleError("the folder is empty\nsecond line")

    @probe.command()
    def bug() -> None:
        raise ZeroDivisionError("a real bug")

    told = runner.invoke(probe, ["user"])
    assert told.exit_code == USER_ERROR_EXIT and told.stderr == "error: the folder is empty\n"
    crashed = runner.invoke(probe, ["bug"])
    assert isinstance(crashed.exception, ZeroDivisionError)


_RUN_AND_LIST_HEAVY_IMPORTS = """
import sys
from vidstyle.cli.app import app
try:
    app(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print("exit", code, "heavy", sorted(m for m in ("torch", "torchvision", "ray") if m in sys.modules))
"""


@pytest.mark.slow
def test_a_finished_embed_rerun_does_not_import_the_network(sample_catalogue: Path, embedded_catalogue: Path,
                                                            tmp_path: Path) -> None:
    """Nothing to embed means no model and no torch: importing torch alone costs seconds per command."""
    from tests.support.paths import OFFLINE_CONFIG

    rerun = subprocess.run([sys.executable, "-c", _RUN_AND_LIST_HEAVY_IMPORTS, "embed", str(sample_catalogue),
                            "--out", str(embedded_catalogue), "--config", str(OFFLINE_CONFIG), "--no-progress"],
                           capture_output=True, text=True, timeout=120)
    assert "skipped" in rerun.stdout and "exit 0 heavy []" in rerun.stdout, rerun.stdout + rerun.stderr
