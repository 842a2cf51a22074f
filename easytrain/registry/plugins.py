"""Plugins: installed packages that add components through the ``easytrain.plugins`` entry points.

A package declares an entry point in that group pointing at a function ``register(registry)``;
it calls ``registry.add(...)`` for each thing it provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from easytrain.errors import RecipeError
from easytrain.registry.core import Kind, Registry

PLUGIN_GROUP = "easytrain.plugins"


def load_plugins(registry: Registry) -> None:
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
