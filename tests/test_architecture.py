"""The package's shape, read from its source with `ast`: small modules, short functions, no
import cycle, and the commands people wait on free of torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "easytrain"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
GENERATED = {"easytrain/config/_fielddocs.py"}  # a table `make docs` writes, not code to read


def modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """What a module imports when it is imported: the statements at module level (inside
    try/if blocks too), but not those in functions or under `if TYPE_CHECKING:`."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    visit(block)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """easytrain module → the easytrain modules it imports at import time. Importing a.b.c runs
    a and a.b first, so those count too, except a module's own packages on the way (a package
    that imports its modules is no cycle); a package the module names itself does count."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        imported = _module_level_imports(ast.parse(_source(path)), name, path.name == "__init__.py")
        targets = set()
        for target in imported:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):  # every package on the way is imported too
                prefix = ".".join(parts[:i])
                ancestor = name.startswith(prefix + ".")
                if prefix in known and prefix != name and (prefix == target or not ancestor):
                    targets.add(prefix)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_module_is_longer_than_300_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules().values()
        if (lines := len(_source(path).splitlines())) > MAX_MODULE_LINES
        and str(path.relative_to(ROOT)) not in GENERATED
    }
    assert not long, f"split these modules (lines): {long}"


def test_no_function_is_longer_than_60_lines() -> None:
    long = {}
    for path in modules().values():
        for node in ast.walk(ast.parse(_source(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert not long, f"split these functions (lines): {long}"


def test_no_import_cycle_among_the_modules() -> None:
    found = cycles(import_graph())
    assert not found, f"modules that import each other at import time: {found}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above could pass by finding nothing: this shows it finds what it should."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nimport easytrain.errors\n"
        "if TYPE_CHECKING:\n    import easytrain.cli\n"
        "def f():\n    import easytrain.config\n"
        "from .pipeline import run\n"
    )
    found = _module_level_imports(tree, "easytrain.engine", is_package=True)
    assert "easytrain.errors" in found and "easytrain.engine.pipeline.run" in found
    assert "easytrain.cli" not in found and "easytrain.config" not in found
    graph = import_graph()
    assert graph["easytrain.engine.loop"] >= {"easytrain.engine.steps", "easytrain.engine.setup"}
    assert "easytrain.engine" in graph["easytrain.engine.steps"]  # from easytrain.engine import rng


@pytest.mark.parametrize("module", ["easytrain.cli", "easytrain.config"])
def test_importing_the_cli_or_the_config_does_not_import_torch(module: str) -> None:
    heavy = ("torch", "transformers", "matplotlib")
    code = f"import sys, {module}; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "[]", f"importing {module} imported {done.stdout.strip()}"
