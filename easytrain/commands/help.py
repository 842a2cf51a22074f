"""`--help` in typer's rich panels, without the parts of rich that easytrain's help never uses.

typer.rich_utils imports rich.markdown (markdown-it, pygments) for help written in Markdown and
rich.traceback (attrs, pygments) for pretty exceptions. easytrain's help is rich markup, and
pretty exceptions are off, yet those two imports were about a third of `easytrain --help`. So
typer.rich_utils is imported with stand-ins for the two classes it takes from them, each of
which imports the real class the first time it is used; the stand-in modules are gone from
sys.modules as soon as typer.rich_utils is imported, so any other import gets rich itself.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# module → the class typer.rich_utils imports from it
DEFERRED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


class _Deferred(type):
    """The type of a stand-in: calls and attributes go to the real class, imported on first use."""

    _where: tuple[str, str]

    def real(cls) -> Any:
        module, name = cls._where
        return getattr(importlib.import_module(module), name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.real()(*args, **kwargs)

    def __getattr__(cls, attr: str) -> Any:
        if attr.startswith("_"):  # typing and copy probe these; rich's classes have none to lend
            raise AttributeError(attr)
        return getattr(cls.real(), attr)


def import_rich_utils() -> None:
    """Import typer.rich_utils with rich.markdown and rich.traceback deferred to their first use."""
    if "typer.rich_utils" in sys.modules:
        return
    placed: dict[str, types.ModuleType] = {}
    for module, name in DEFERRED.items():
        if module not in sys.modules:
            stand_in = types.ModuleType(module, f"Stands in for {module} while typer imports.")
            setattr(stand_in, name, _Deferred(name, (), {"_where": (module, name)}))
            placed[module] = sys.modules[module] = stand_in
    try:
        importlib.import_module("typer.rich_utils")
    finally:
        for module, stand_in in placed.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


class HelpGroup(TyperGroup):
    """A command group whose --help imports only the rich it prints with."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        import_rich_utils()
        super().format_help(ctx, formatter)


class HelpCommand(TyperCommand):
    """A command whose --help imports only the rich it prints with."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        import_rich_utils()
        super().format_help(ctx, formatter)


def light_help(app: typer.Typer) -> None:
    """Every command of `app` and of its groups answers --help through HelpCommand."""
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):  # typer's default; a command's own class stays
            command.cls = HelpCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            light_help(group.typer_instance)
