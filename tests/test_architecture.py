"""The layout's promises, checked on the source: imports point one way, no import circles, every package ships.

Layers, lowest first: `core` → `backbones`, `media` → `styletransfer` → `embedder` → `indexing` → `evaluation`
(it scores the ranking `indexing` does) → `service` → `cli`. A module may import its own package and any lower
layer, never a higher one or a sibling of its own layer. Every import counts, including those inside functions,
which is where circles used to hide.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tomllib

from tests.support.paths import REPO

LAYERS: dict[str, int] = {
    "core": 0,
    "backbones": 1,
    "media": 1,
    "styletransfer": 2,
    "embedder": 3,
    "indexing": 4,
    "evaluation": 5,
    "service": 6,
    "cli": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["vidstyle", *parts]) if parts[0] != "vidstyle" else ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every project module -> the project modules it imports (anywhere in its body)."""
    files = [p for top in [*LAYERS, "vidstyle"] for p in (REPO / top).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import sub` imports the module pkg.sub; `from pkg import name` imports pkg itself.
                subs = [f"{node.module}.{a.name}" for a in node.names]
                candidates = [s for s in subs if s in modules] or [node.module]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            targets.update(c for c in candidates if c in modules and c != name)
        graph[name] = targets
    return graph


def _layer(module: str) -> tuple[str, int] | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return None  # the root package `vidstyle` (its version) and `vidstyle.__main__`
    return parts[1], LAYERS[parts[1]]


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, targets in _imports().items():
        here = _layer(module)
        if here is None:
            continue
        for target in targets:
            there = _layer(target)
            if there is None or there[0] == here[0]:
                continue
            if there[1] >= here[1]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_circles() -> None:
    graph = _imports()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_no_stage_imports_the_command_line_or_the_service() -> None:
    for module, targets in _imports().items():
        layer = _layer(module)
        if layer is None or layer[0] in {"cli", "service"}:
            continue
        assert not {t for t in targets if t.startswith(("vidstyle.cli", "vidstyle.service"))}, module


@pytest.mark.parametrize("folder", sorted(LAYERS))
def test_every_package_is_installed_under_vidstyle(folder: str) -> None:
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert tool["package-dir"][f"vidstyle.{folder}"] == folder
    on_disk = {_module_name(p.parent / "__init__.py") for p in (REPO / folder).rglob("__init__.py")}
    assert on_disk <= set(tool["packages"]), sorted(on_disk - set(tool["packages"]))
