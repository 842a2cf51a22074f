"""A recipe with values from `tune.space` applied: what one trial runs, and what best.yaml holds.

Values go in through the same path as command-line overrides and come out of the same
validation, so a bad value reads like any other recipe error, pointed at its `tune.space` entry.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from easytrain.config.overrides import apply_override
from easytrain.config.yamlpos import Positions
from easytrain.errors import Problem, RecipeError
from easytrain.registry import Registry


def yaml_value(value: Any) -> str:
    """`value` as override text: YAML flow style, floats always read back as floats (1.0e-05)."""
    text = yaml.safe_dump([value], default_flow_style=True, width=1 << 30, allow_unicode=True)
    return text.strip()[1:-1]


def apply_params(
    data: dict[str, Any], positions: Positions, params: dict[str, Any]
) -> tuple[dict[str, Any], Positions]:
    """A copy of the recipe without `tune:`, each dotted key set to its value.

    Positions of the keys set point at their `tune.space` entry, so that a problem with a
    sampled value is reported at the line that allowed it.
    """
    data, positions = copy.deepcopy(data), Positions(positions)
    data.pop("tune", None)
    for key, value in params.items():
        where = positions.get(("tune", "space", key), "")
        try:
            apply_override(data, positions, f"{key}={yaml_value(value)}")
        except RecipeError as exc:
            raise RecipeError(
                [Problem(p.message, key, where or p.where) for p in exc.problems]
            ) from None
        if where:
            path = tuple(int(p) if p.isdigit() else p for p in key.split("."))
            positions[path] = where
    for path in [p for p in positions if p[:1] == ("tune",)]:
        del positions[path]
    return data, positions


def validate_params(
    data: dict[str, Any],
    positions: Positions,
    params: dict[str, Any],
    *,
    allow_code: bool,
    registry: Registry,
) -> Any:
    """The validated recipe for one point of the space; problems say which value caused them."""
    from easytrain.config.load import validate_data

    try:
        sampled, where = apply_params(data, positions, params)
        return validate_data(sampled, where, allow_code=allow_code, registry=registry)
    except RecipeError as exc:
        setting = " ".join(f"{key}={yaml_value(value)}" for key, value in params.items())
        raise RecipeError(
            [Problem(f"{p.message} (tune.space: {setting})", p.key, p.where) for p in exc.problems]
        ) from None


def check_space(
    data: dict[str, Any], positions: Positions, *, allow_code: bool, registry: Registry
) -> list[Problem]:
    """Validate the recipe at both ends of every range and with every choice, one key at a time,
    so that `validate` finds a value the search would trip over, before anything trains."""
    from easytrain.config.tune import Distribution

    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for key, raw in data["tune"]["space"].items():
        distribution = Distribution.model_validate(raw)
        for value in distribution.ends():
            try:
                validate_params(
                    data, positions, {key: value}, allow_code=allow_code, registry=registry
                )
            except RecipeError as exc:
                for problem in exc.problems:  # once per problem, not once per value causing it
                    same = (
                        problem.key,
                        problem.where,
                        problem.message.rsplit(" (tune.space", 1)[0],
                    )
                    if same not in seen:
                        seen.add(same)
                        problems.append(problem)
    return problems
