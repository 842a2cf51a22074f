"""Read a recipe file, apply overrides, validate it, and report every problem at once."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from easytrain.config.backbones import TorchvisionConfig
from easytrain.config.data import held_out_fractions
from easytrain.config.hf import hf_folder_problems, hf_problems, quantize_problems
from easytrain.config.logged import raw_task, unlogged
from easytrain.config.overrides import apply_overrides
from easytrain.config.problems import problem_order, to_problems
from easytrain.config.recipe import Recipe, recipe_model
from easytrain.config.tune import tune_problems
from easytrain.config.yamlpos import Path_, Positions, dotted, load_file
from easytrain.errors import Problem, RecipeError
from easytrain.registry import Registry, builtin_registry, default_registry


def load_recipe(
    path: str | Path,
    overrides: list[str] | None = None,
    *,
    allow_code: bool = False,
    registry: Registry | None = None,
) -> Recipe:
    """The validated recipe, or a RecipeError listing every problem with its file:line:col."""
    data, positions = read_recipe(path, overrides)
    if registry is None:
        return _validate_builtins_first(data, positions, allow_code=allow_code)
    return validate_data(data, positions, allow_code=allow_code, registry=registry)


def _validate_builtins_first(
    data: dict[str, Any], positions: Positions, *, allow_code: bool
) -> Recipe:
    """Validate against the built-in components first: a recipe that names only those needs no
    scan of every installed package's entry points for plugins (a scan costs more than the
    validation). Any other outcome is validated again with the plugins, so the answer is the one
    the whole registry gives: a problem (the name may be a plugin's), or a torchvision model (a
    plugin's model of that name comes first)."""
    try:
        recipe = validate_data(
            copy.deepcopy(data), positions, allow_code=allow_code, registry=builtin_registry()
        )
    except RecipeError:
        recipe = None
    if recipe is None or isinstance(recipe.model, TorchvisionConfig):
        return validate_data(data, positions, allow_code=allow_code, registry=default_registry())
    return recipe


def read_recipe(
    path: str | Path, overrides: list[str] | None = None
) -> tuple[dict[str, Any], Positions]:
    """The recipe as plain data with overrides applied, and where each key came from."""
    path = Path(path)
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
    data.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "run")
    return data, positions


def validate_data(
    data: dict[str, Any], positions: Positions, *, allow_code: bool, registry: Registry
) -> Recipe:
    """Validate with pydantic and the cross-section checks; every problem is reported at once."""
    model = recipe_model(registry)
    problems = [
        Problem(message, key=dotted(key), where=positions.nearest(key))
        for key, message in check_recipe(data, registry.names("metric"))
    ]
    try:
        recipe = model.model_validate(
            data, context={"allow_code": allow_code, "registry": registry}
        )
    except ValidationError as exc:
        problems = to_problems(exc, data, positions, model) + problems
        ordered = sorted(set(problems), key=problem_order)
        raise RecipeError(ordered) from None
    if problems:
        raise RecipeError(problems)
    if recipe.tune is not None:  # every value the search can produce must make a valid recipe
        from easytrain.config.sampled import check_space

        problems = check_space(data, positions, allow_code=allow_code, registry=registry)
        if problems:
            ordered = sorted(problems, key=problem_order)
            raise RecipeError(ordered)
    return recipe


def _get(data: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def check_recipe(data: dict[str, Any], metrics: list[str] | None = None) -> list[tuple[Path_, str]]:
    """Checks that span sections. They read the raw data (defaults where a key is left out), so
    that they are reported together with pydantic's field errors, not after those are fixed."""
    problems: list[tuple[Path_, str]] = []
    fractions = held_out_fractions(_get(data, "data", default={}))
    monitors: list[tuple[Path_, Any]] = []
    if "monitor" in (_get(data, "train", default={}) or {}):
        monitors.append((("train", "monitor"), _get(data, "train", "monitor")))
    if isinstance(_get(data, "train", "early_stopping"), dict):
        stopping = ("train", "early_stopping", "monitor")
        monitors.append((stopping, _get(data, *stopping, default="val_loss")))
    task = raw_task(_get(data, "data"))
    for key, monitor in monitors:
        if isinstance(monitor, str) and monitor.startswith("val_") and fractions["val"] == 0:
            problems.append((key, f"'{monitor}' needs a validation split, but data.split.val is 0"))
        elif reason := unlogged(monitor, _get(data, "evaluate"), task, metrics or []):
            problems.append((key, reason))
    if _get(data, "train", "class_weights") is not None and task == "regression":
        problems.append(
            (
                ("train", "class_weights"),
                "class weights are for classification, but this data is regression",
            )
        )
    problems += tune_problems(data, fractions["val"])
    problems += hf_problems(data) + hf_folder_problems(data) + quantize_problems(data)
    gate_split = _get(data, "evaluate", "gate_split", default="test")
    if _get(data, "evaluate", "gates") and fractions.get(gate_split) == 0:
        problems.append(
            (
                ("evaluate", "gates"),
                f"gates check the {gate_split} split, but data.split.{gate_split} is 0",
            )
        )
    return problems


def dump_recipe(recipe: Recipe) -> str:
    """The resolved recipe as YAML that `easytrain run` accepts as it is."""
    data = recipe.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
