"""Read a recipe file, apply overrides, validate it, and report every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from easytrain.config.overrides import apply_overrides
from easytrain.config.problems import to_problems
from easytrain.config.recipe import Recipe, recipe_model
from easytrain.config.yamlpos import Path_, Positions, dotted, load_file
from easytrain.errors import Problem, RecipeError
from easytrain.metrics import MetricInfo
from easytrain.registry import Registry, default_registry, suggest


def load_recipe(
    path: str | Path,
    overrides: list[str] | None = None,
    *,
    allow_code: bool = False,
    registry: Registry | None = None,
) -> Recipe:
    """The validated recipe, or a RecipeError listing every problem with its file:line:col."""
    path = Path(path)
    registry = registry or default_registry()
    data, positions = load_file(path)
    if data is None:
        raise RecipeError(
            Problem(
                "the recipe is empty; start from `easytrain recipes copy digits`", where=str(path)
            )
        )
    if not isinstance(data, dict):
        raise RecipeError(
            Problem(
                "a recipe is a mapping of sections (name, data, model, train …)",
                where=positions.nearest(()) or str(path),
            )
        )
    apply_overrides(data, positions, overrides or [])
    data.setdefault("name", path.stem)
    return validate_data(data, positions, allow_code=allow_code, registry=registry)


def validate_data(
    data: dict[str, Any], positions: Positions, *, allow_code: bool, registry: Registry
) -> Recipe:
    model = recipe_model(registry)
    try:
        recipe = model.model_validate(
            data, context={"allow_code": allow_code, "registry": registry}
        )
    except ValidationError as exc:
        raise RecipeError(to_problems(exc, data, positions, model)) from None
    problems = [
        Problem(message, key=dotted(key), where=positions.nearest(key))
        for key, message in check_recipe(recipe, registry)
    ]
    if problems:
        raise RecipeError(problems)
    return recipe


def _metric_infos(registry: Registry) -> dict[str, MetricInfo]:
    return {c.name: c.info for c in registry if c.kind == "metric"}


def monitor_mode(monitor: str, mode: str, registry: Registry) -> str:
    """'min' or 'max' for a logged column such as val_loss or val_accuracy."""
    if mode != "auto":
        return mode
    metric = monitor.removeprefix("val_").removeprefix("test_")
    info = _metric_infos(registry).get(metric)
    return "max" if info is not None and info.higher_is_better else "min"


def check_recipe(recipe: Recipe, registry: Registry) -> list[tuple[Path_, str]]:
    """Checks that span sections; pydantic has already checked each field on its own."""
    problems: list[tuple[Path_, str]] = []
    known = registry.names("metric")
    columns = ["train_loss", "val_loss", *(f"val_{m}" for m in known)]
    monitors = [(("train", "monitor"), recipe.train.monitor)]
    if recipe.train.early_stopping is not None:
        monitors.append(
            (("train", "early_stopping", "monitor"), recipe.train.early_stopping.monitor)
        )
    for key, monitor in monitors:
        if monitor not in columns:
            problems.append(
                (
                    key,
                    f"'{monitor}' is not a logged value{suggest(monitor, columns)}; use train_loss, val_loss or val_<metric>",
                )
            )
        elif monitor.startswith("val_") and recipe.data.split.val == 0:
            problems.append((key, f"'{monitor}' needs a validation split, but data.split.val is 0"))
    if recipe.evaluate.gates and getattr(recipe.data.split, recipe.evaluate.gate_split) == 0:
        split = recipe.evaluate.gate_split
        problems.append(
            (("evaluate", "gates"), f"gates check the {split} split, but data.split.{split} is 0")
        )
    return problems


def dump_recipe(recipe: Recipe) -> str:
    """The resolved recipe as YAML that `easytrain run` accepts as it is."""
    data = recipe.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
