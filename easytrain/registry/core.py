"""A registry of named components: each with its config class and the import path of its code.

A component is registered with its pydantic config class (cheap to import) and the import path
of its implementation, which is imported only when a run needs it. So `validate` and `schema`
know every name without importing torch, and a plugin's heavy code loads only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel

from easytrain.errors import RecipeError, suggest

Kind = Literal["data", "preprocess", "model", "train", "evaluate", "export", "metric"]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True)
class Component:
    kind: Kind
    name: str
    target: str  # "package.module:attribute" of the implementation
    config: type[BaseModel] | None = None
    info: Any = None  # kind-specific facts, e.g. a metric's direction
    origin: str = "easytrain"

    def load(self) -> Any:
        module_name, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attr)


@dataclass(eq=False)  # compared and hashed by identity: one registry per process
class Registry:
    _items: dict[Kind, dict[str, Component]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )

    def add(
        self,
        kind: Kind,
        name: str,
        target: str,
        config: type[BaseModel] | None = None,
        info: Any = None,
        origin: str = "easytrain",
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown component kind {kind!r}; choose from {', '.join(KINDS)}")
        if kind == "data" and config is not None:
            from easytrain.config.data import DataSource  # not at import: config imports us

            if not issubclass(config, DataSource):
                raise ValueError(
                    f"data source '{name}' from {origin}: its config {config.__name__} must "
                    "extend easytrain.config.data.DataSource (what every data source shares)"
                )
        if name in self._items[kind]:
            other = self._items[kind][name].origin
            raise ValueError(f"{kind} '{name}' from {origin} is already registered by {other}")
        self._items[kind][name] = Component(kind, name, target, config, info, origin)

    def get(self, kind: Kind, name: str) -> Component:
        try:
            return self._items[kind][name]
        except KeyError:
            raise RecipeError(f"unknown {kind} '{name}'{suggest(name, self.names(kind))}") from None

    def names(self, kind: Kind) -> list[str]:
        return list(self._items[kind])

    def __iter__(self) -> Iterator[Component]:
        for items in self._items.values():
            yield from items.values()
