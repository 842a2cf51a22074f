"""The recipe reference page, docs/reference.md, rendered from the models that validate recipes."""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from easytrain.config.recipe import Recipe, recipe_model
from easytrain.registry import Registry, default_registry

START, END = "<!-- recipe-reference:start -->", "<!-- recipe-reference:end -->"


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
    parts = ["| key | type | default | what it does |", "| --- | --- | --- | --- |"]
    parts += [row for row in _rows(Recipe, "") if row.split("`")[1] in ("name", "seed", "device")]
    for section in ("data", "preprocess", "model", "train", "evaluate", "export", "tune"):
        annotation = model.model_fields[section].annotation
        members = [m for m in _members(annotation) if m.__name__ != "CustomModelConfig"]
        for member in members:
            parts += [
                "",
                f"## `{section}:` — {member.__doc__.strip().splitlines()[0]}",
                "",
                "| key | type | default | what it does |",
                "| --- | --- | --- | --- |",
            ]
            parts += _rows(member, f"{section}.")
    return "\n".join(parts) + "\n"


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


PAGE = "docs/reference.md"


def update_page(path: str = PAGE) -> bool:
    """Rewrite the reference between the page's markers; True when it changed."""
    from pathlib import Path

    page = Path(path)
    text = page.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path}: the markers {START} and {END} are missing")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    updated = f"{head}{START}\n{render()}{END}{tail}"
    page.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":
    print(f"{PAGE} updated" if update_page() else f"{PAGE} already up to date")
