"""Named components that recipes refer to, and the plugins that add more.

A component is registered with its pydantic config class (cheap to import) and the import path
of its implementation, which is imported only when a run needs it. So `validate` and `schema`
know every name without importing torch, and a plugin's heavy code loads only when used.

Plugins: a package declares an entry point in the group ``easytrain.plugins`` that points at a
function ``register(registry)``; it calls ``registry.add(...)`` for each thing it provides.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Literal, get_args

from pydantic import BaseModel

from easytrain.errors import RecipeError

Kind = Literal["data", "preprocess", "model", "train", "evaluate", "export", "metric"]
KINDS: tuple[Kind, ...] = get_args(Kind)
PLUGIN_GROUP = "easytrain.plugins"


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


def suggest(word: str, choices: list[str]) -> str:
    """' (did you mean 'x'?)' when one choice is close to word, else ''."""
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _load_plugins(registry: Registry) -> None:
    for entry in entry_points(group=PLUGIN_GROUP):
        origin = entry.dist.name if entry.dist else entry.value
        try:
            register = entry.load()
            register(_PluginRegistrar(registry, origin))
        except Exception as exc:  # a broken plugin must not take the tool down with it
            raise RecipeError(f"plugin '{entry.name}' ({origin}) failed to load: {exc}") from exc


@dataclass
class _PluginRegistrar:
    """What a plugin's ``register`` receives: `add` that records where each thing came from."""

    registry: Registry
    origin: str

    def add(
        self,
        kind: Kind,
        name: str,
        target: str,
        config: type[BaseModel] | None = None,
        info: Any = None,
    ) -> None:
        self.registry.add(kind, name, target, config, info, origin=self.origin)


@cache
def default_registry() -> Registry:
    """Built-in components plus every installed plugin, built once per process."""
    from easytrain.builtins import register_builtins

    registry = Registry()
    register_builtins(registry)
    _load_plugins(registry)
    return registry
