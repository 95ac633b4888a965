"""`vidstyle demo` end to end, as the README tells a new user to run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidstyle.cli.app import app


@pytest.mark.slow
def test_demo_says_what_to_expect_and_what_to_try_next(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    style = lines.index("  style: the 5 other 'sepia' videos should come first")
    assert all("✓ same look" in line for line in lines[style + 1 : style + 4])  # the top three share the look
    content = lines.index("  content: the 3 other 'cat' videos should come first")
    assert all("same subject" in line for line in lines[content + 1 : content + 3])
    nxt = lines.index("next:")
    assert f"vidstyle query {tmp_path / 'index'} --video-id cat__sepia" in lines[nxt + 1]
    assert "--serve" in lines[nxt + 3]
