"""The shipped recipe templates: the top-level recipes/ folder, packaged as easytrain/recipes."""

from __future__ import annotations

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
