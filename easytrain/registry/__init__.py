"""Named components that recipes refer to: the built-in list and the plugins that add more.

`default_registry()` is the one registry a process uses; `Registry.add` is what plugins call.
`builtin_registry()` holds what easytrain ships alone: it answers without scanning the installed
packages for plugins, which costs more than validating a recipe.
"""

from __future__ import annotations

from functools import cache

from easytrain.errors import suggest
from easytrain.registry.core import KINDS, Component, Kind, Registry
from easytrain.registry.plugins import PLUGIN_GROUP, load_plugins

__all__ = [
    "KINDS",
    "PLUGIN_GROUP",
    "Component",
    "Kind",
    "Registry",
    "builtin_registry",
    "default_registry",
    "suggest",
]


@cache
def builtin_registry() -> Registry:
    """The components easytrain ships, without plugins, built once per process."""
    from easytrain.registry.builtin import register_builtins

    registry = Registry()
    register_builtins(registry)
    return registry


@cache
def default_registry() -> Registry:
    """Built-in components plus every installed plugin, built once per process."""
    from easytrain.registry.builtin import register_builtins

    registry = Registry()
    register_builtins(registry)
    load_plugins(registry)
    return registry
