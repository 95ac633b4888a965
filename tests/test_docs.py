"""The documents inside the repository keep up with the code and with the shared contract."""

from __future__ import annotations

import re

import pytest

from tests.support.paths import REPO
from tests.test_architecture import LAYERS

SHARED_CONTRACT = REPO.parent / "shared" / "CONTRACT.md"


def test_docs_contract_holds_the_shared_contract() -> None:
    if not SHARED_CONTRACT.is_file():
        pytest.skip("no ../shared/CONTRACT.md beside this checkout")
    ours = (REPO / "docs" / "CONTRACT.md").read_text()
    missing = [line for line in SHARED_CONTRACT.read_text().splitlines() if line.strip() and line not in ours]
    assert not missing, "docs/CONTRACT.md lacks lines of the shared contract:\n" + "\n".join(missing)


def test_readme_architecture_names_every_package() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Architecture"):]
    for folder in LAYERS:
        assert re.search(rf"^{folder}/\s+vidstyle\.{folder}\s", section, re.M), folder
