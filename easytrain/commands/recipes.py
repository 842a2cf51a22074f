"""Commands on recipes that train nothing: validate, schema, the shipped templates, init."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from easytrain.commands.common import (
    OverridesArg,
    RecipeArg,
    exit_codes,
    load,
    without_pydantic_plugins,
)
from easytrain.errors import RecipeError


def validate(
    recipe: RecipeArg,
    overrides: OverridesArg = None,
    allow_code: Annotated[
        bool, typer.Option("--allow-code", help="Accept import paths in the recipe.")
    ] = False,
) -> None:
    """Check a recipe and print it with every default filled in. Imports no torch."""
    with exit_codes():
        loaded = load(recipe, overrides, allow_code)
        from easytrain.config.load import dump_recipe

        print(dump_recipe(loaded), end="")
        print(f"{recipe}: valid", file=sys.stderr)


def schema() -> None:
    """Print the JSON Schema of recipes (for editor autocompletion)."""
    with exit_codes(), without_pydantic_plugins():
        from easytrain.config.schema import recipe_schema

        print(json.dumps(recipe_schema(), indent=2))


def recipes_list() -> None:
    """List the shipped recipes and what each does."""
    with exit_codes():
        from easytrain.config.templates import describe, shipped

        for name, path in shipped().items():
            print(f"{name:<24} {describe(path)}")


def recipes_copy(
    name: Annotated[str, typer.Argument(help="A name from `easytrain recipes list`.")],
    dest: Annotated[Path | None, typer.Argument(help="File or folder; default ./NAME.yaml")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    with_data: Annotated[
        bool,
        typer.Option("--with-data", help="Also write the recipe's sample data where it looks."),
    ] = False,
) -> None:
    """Copy a shipped recipe here to edit it."""
    with exit_codes():
        from easytrain.config.samples import write_sample
        from easytrain.config.templates import adapted, find

        source = find(name)
        target = dest or Path(source.name)
        if target.is_dir():
            target = target / source.name
        if target.exists() and not force:
            raise RecipeError(f"{target} exists; pass --force to overwrite it")
        if with_data:
            print(write_sample(source, force), file=sys.stderr)
        target.write_text(adapted(source, target), encoding="utf-8")
        print(
            f"copied {source.name} → {target}; run it with: easytrain run {target}", file=sys.stderr
        )


def init(
    data: Annotated[
        Path,
        typer.Argument(
            help="A table (CSV, TSV, Parquet, JSON Lines), a text table or an image folder.",
            show_default=False,
        ),
    ],
    target: Annotated[
        str | None, typer.Option(help="The column to predict (default: one named like a target).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the recipe (default ./NAME.yaml).")
    ] = None,
    run_now: Annotated[bool, typer.Option("--run", help="Run the recipe once written.")] = False,
    pretrained: Annotated[
        Path | None, typer.Option(help="Build on a saved pretrained model (model type hf).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing recipe.")] = False,
) -> None:
    """Write a commented recipe from the data: every choice a key, with the reason above it."""
    with exit_codes():
        from easytrain.init.command import init_recipe

        path = init_recipe(data, target, out, pretrained, force)
    if run_now:
        from easytrain.commands.run import run

        run(path)
