"""The generated parts of the docs: the recipe reference (docs/reference.md), rendered from the
models that validate recipes, and the table of shipped recipes (docs/recipes.md), from their files.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from easytrain.config.recipe import Recipe, recipe_model
from easytrain.registry import Registry, default_registry

START, END = "<!-- recipe-reference:start -->", "<!-- recipe-reference:end -->"
SHIPPED_START, SHIPPED_END = "<!-- shipped-recipes:start -->", "<!-- shipped-recipes:end -->"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(str(a) for a in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " \\| ".join(dict.fromkeys(_type_name(a) for a in get_args(annotation)))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in get_args(annotation))}]"
    if hasattr(annotation, "__metadata__"):
        return _type_name(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default if field.default_factory is None else field.default_factory()
    if isinstance(value, BaseModel):
        return "(defaults)"
    return "`null`" if value is None else f"`{value}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        description = (field.description or "").replace("\n", " ").replace("|", "\\|")
        rows.append(
            f"| `{prefix}{name}` | {_type_name(field.annotation)} | {_default(field)} | {description} |"
        )
        container = _container(field.annotation)
        for sub in _members(field.annotation):
            rows += _rows(sub, f"{prefix}{name}{container}.")
    return rows


def render(registry: Registry | None = None) -> str:
    """Markdown: one table per section implementation (built-ins and installed plugins)."""
    model = recipe_model(registry or default_registry())
    sections = [name for name, field in model.model_fields.items() if _members(field.annotation)]
    parts = [
        "## Top level",
        "",
        "| key | type | default | what it does |",
        "| --- | --- | --- | --- |",
    ]
    top = [name for name in Recipe.model_fields if name not in sections]  # name, seed, device
    parts += [row for row in _rows(Recipe, "") if row.split("`")[1] in top]
    for section in sections:  # every section of the recipe model, in its order
        annotation = model.model_fields[section].annotation
        members = [m for m in _members(annotation) if m.__name__ != "CustomModelConfig"]
        for member in members:
            parts += [
                "",
                f"## `{section}:` — {_summary(member)}",
                "",
                "| key | type | default | what it does |",
                "| --- | --- | --- | --- |",
            ]
            parts += _rows(member, f"{section}.")
    return "\n".join(parts) + "\n"


def _summary(model: type[BaseModel]) -> str:
    """The first line of a section's docstring: what the section is for."""
    return (model.__doc__ or model.__name__).strip().splitlines()[0]


def _container(annotation: Any) -> str:
    """'[]' for a list of sections, '.<key>' for a mapping of them, '' otherwise."""
    for member in [annotation, *get_args(annotation)]:
        if get_origin(member) is list:
            return "[]"
        if get_origin(member) is dict:
            return ".<key>"
    return ""


def _members(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _members(arg)]


def render_shipped() -> str:
    """Markdown: one row per shipped recipe, with its first comment line (what it does)."""
    from easytrain.config.templates import describe, shipped

    rows = ["| recipe | what it does |", "| --- | --- |"]
    rows += [f"| `{path.name}` | {describe(path)} |" for path in shipped().values()]
    return "\n".join(rows) + "\n"


PAGES = {  # page: (start marker, end marker, renderer)
    "docs/reference.md": (START, END, render),
    "docs/recipes.md": (SHIPPED_START, SHIPPED_END, render_shipped),
}


def update_page(path: str) -> bool:
    """Rewrite the generated part between the page's markers; True when it changed."""
    from pathlib import Path

    start, end, renderer = PAGES[path]
    page = Path(path)
    text = page.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{path}: the markers {start} and {end} are missing")
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    updated = f"{head}{start}\n{renderer()}{end}{tail}"
    page.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":
    for page in PAGES:
        print(f"{page} updated" if update_page(page) else f"{page} already up to date")
