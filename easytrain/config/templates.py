"""The shipped recipe templates: the top-level recipes/ folder, packaged as easytrain/recipes."""

from __future__ import annotations

import re
from pathlib import Path

from easytrain.errors import RecipeError, suggest


def recipes_dir() -> Path:
    package = Path(__file__).parent.parent
    packaged = package / "recipes"  # inside an installed wheel
    return packaged if packaged.is_dir() else package.parent / "recipes"  # a checkout


def shipped() -> dict[str, Path]:
    return {path.stem: path for path in sorted(recipes_dir().glob("*.yaml"))}


def describe(path: Path) -> str:
    """The first comment line of a recipe: what it does."""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def find(name: str) -> Path:
    recipes = shipped()
    if name.removesuffix(".yaml") not in recipes:
        raise RecipeError(
            f"no shipped recipe '{name}'{suggest(name, list(recipes))}; "
            f"see `easytrain recipes list`"
        )
    return recipes[name.removesuffix(".yaml")]


def adapted(source: Path, target: Path) -> str:
    """The template's text for its copy at `target`: its `name:` is the copy's file name (which
    names the run folder), and the command in its comments runs the copy, not the template."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", target.stem).strip("-.") or "run"
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("#"):
            line = line.replace(f"recipes/{source.name}", str(target))
        elif line.rstrip("\r\n") == f"name: {source.stem}":
            line = f"name: {stem}\n"
        lines.append(line)
    return "".join(lines)


def version() -> str:
    """The installed package's version (pyproject.toml's), or the source's in a bare checkout."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("easytrain")
    except PackageNotFoundError:
        from easytrain import __version__

        return __version__
