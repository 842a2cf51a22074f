"""Lists whose items are one kind with its settings: `model.layers`, `preprocess.augment`.

People write short forms (`- flatten`, `{pool: 2}`, `{rotation: 10}`); `expand` turns them into
the long form pydantic validates, and the JSON Schema helpers say the short forms are fine too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict


def kind_of(value: Any) -> str | None:
    """The discriminator: the one key of an item (or the one field of a validated item)."""
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    if isinstance(value, BaseModel):
        return next(iter(type(value).model_fields))
    return None


def expand(item: Any, short_forms: dict[str, str]) -> Any:
    """`flatten` → {flatten: {}}; `{pool: 2}` → {pool: {size: 2}} for short_forms {pool: size}."""
    if isinstance(item, str):
        return {item: {}}
    if isinstance(item, dict) and len(item) == 1:
        ((kind, value),) = item.items()
        if value is None:
            return {kind: {}}
        if kind in short_forms and not isinstance(value, dict):
            return {kind: {short_forms[kind]: value}}
    return item


def short_form(kind: str, short: dict[str, Any]) -> ConfigDict:
    """An item's schema also accepts its short value, e.g. `{pool: 2}`."""

    def extra(schema: dict[str, Any]) -> None:
        schema["properties"][kind] = {"anyOf": [schema["properties"][kind], short]}

    return ConfigDict(json_schema_extra=extra)


def bare_names(field: str, names: Iterable[str]) -> Callable[[dict[str, Any]], None]:
    """A list's schema also accepts bare kind names (`- flatten`) for kinds with all defaults."""
    allowed = list(names)

    def extra(schema: dict[str, Any]) -> None:
        items = schema["properties"][field]["items"]
        schema["properties"][field]["items"] = {"anyOf": [items, {"enum": allowed}]}

    return extra
