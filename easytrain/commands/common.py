"""What the commands share: argument types, recipe loading, and exceptions → exit codes."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from easytrain.errors import EasytrainError, ExitCode, GateFailed

if TYPE_CHECKING:
    from easytrain.config.recipe import Recipe

RecipeArg = Annotated[Path, typer.Argument(help="The recipe YAML file.", show_default=False)]
OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Overrides: train.epochs=3 model.hidden=[128,64] ~train.scheduler", show_default=False
    ),
]
RunDirArg = Annotated[
    Path, typer.Argument(help="A run folder (runs/NAME/TIMESTAMP).", show_default=False)
]
AllowCodeOpt = Annotated[
    bool,
    typer.Option(
        "--allow-code", help="The run's recipe imports Python code (type: package.module:Class)."
    ),
]


def error(message: str) -> None:
    from easytrain.errors import shown  # a file name's escape sequences are not sent raw

    for line in shown(message).splitlines() or [message]:
        print(f"error: {line}" if not line.startswith("  ") else line, file=sys.stderr)


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn our exceptions into a message and the exit code docs/getting-started.md documents."""
    try:
        yield
    except EasytrainError as exc:
        if isinstance(exc, GateFailed):
            from easytrain.tracking.gatetable import show

            show(exc.gates)
        error(str(exc))
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        error("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def import_beside(recipe: Path) -> None:
    """--allow-code: modules beside the recipe import without PYTHONPATH=. (appended, so that
    they shadow no installed package)."""
    folder = str(recipe.resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)


@contextmanager
def without_pydantic_plugins() -> Iterator[None]:
    """Build the recipe models without pydantic plugins, as typer builds its parameters'.
    pydantic looks for plugins (observability tools such as logfire) when it builds its first
    model, by reading the entry points of every installed package: that scan cost more than
    validating a recipe. Models built after this (a served model's requests) see plugins."""
    before = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = before


def load(recipe: Path, overrides: list[str] | None, allow_code: bool = False) -> "Recipe":
    if allow_code:
        import_beside(recipe)
    with without_pydantic_plugins():
        from easytrain.config.load import load_recipe

        return load_recipe(recipe, overrides or [], allow_code=allow_code)


def print_gates(result: dict[str, Any]) -> None:
    """The gates of a summary or an evaluation as a table (stderr), when there are any."""
    if result.get("gates"):
        from easytrain.tracking.gatetable import show_records

        show_records(result["gates"])
