"""The `tune:` section: what `easytrain tune` searches over, and how. `easytrain run` ignores it.

A space maps dotted recipe keys (the same keys that command-line overrides take) to one
distribution each. Keys are checked against the recipe schema here; whether every value a space
can produce makes a valid recipe is checked in `space.py` by validating the recipe at the ends of
each range (and before each trial).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from easytrain.config.annotations import is_model, members
from easytrain.config.base import Section, Seed
from easytrain.config.train import Monitor
from easytrain.errors import suggest

Int = int  # `int:` is also a field name below; annotations there use this alias
KINDS = ("loguniform", "uniform", "int", "choice")


class Distribution(Section):
    """One dimension of the search: exactly one of loguniform, uniform, int or choice."""

    loguniform: tuple[float, float] | None = None
    """[low, high]: a number drawn on a log scale (learning rates, weight decay); 0 < low < high."""
    uniform: tuple[float, float] | None = None
    """[low, high]: a number drawn evenly between the two (dropout); low < high."""
    int: tuple[Int, Int] | None = None
    """[low, high]: a whole number, both ends included (epochs, units)."""
    step: PositiveFloat | None = None
    """uniform and int: only values low + k·step (int: default 1)."""
    choice: list[Any] | None = None
    """The values to choose from; any YAML values, e.g. [[64], [128, 64]] or [adam, sgd]."""

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, value: Any) -> Any:
        if isinstance(value, dict):
            given = [kind for kind in KINDS if kind in value]
            if len(given) != 1 and not (set(value) - {*KINDS, "step"}):
                found = " and ".join(given) if given else "none"
                raise ValueError(
                    f"a distribution is one of {', '.join(KINDS)}, e.g. "
                    f"{{loguniform: [1.0e-4, 1.0e-1]}} or {{choice: [32, 64]}}; got {found}"
                )
        return value

    @model_validator(mode="after")
    def _valid_range(self) -> Distribution:
        if self.choice is not None:
            if not self.choice:
                raise ValueError("choice needs at least one value")
            if self.step is not None:
                raise ValueError("step goes with uniform or int, not choice")
            return self
        if self.loguniform is not None and self.step is not None:
            raise ValueError("step goes with uniform or int, not loguniform")
        kind = self.kind
        low, high = self.bounds
        if not low < high:
            raise ValueError(f"{kind}: low must be below high, got [{low:g}, {high:g}]")
        if kind == "loguniform" and low <= 0:
            raise ValueError(f"loguniform: low must be above 0 (a log scale), got {low:g}")
        if kind == "int" and self.step is not None and self.step != round(self.step):
            raise ValueError(f"int: step must be a whole number, got {self.step:g}")
        if self.step is not None:
            steps = (high - low) / self.step
            if abs(steps - round(steps)) > 1e-9 * max(1.0, abs(steps)):
                raise ValueError(
                    f"{kind}: high - low ({high - low:g}) must be a whole number of steps ({self.step:g})"
                )
        return self

    @model_serializer(mode="wrap")
    def _as_written(self, handler: Any) -> dict[str, Any]:
        """Dump only what was given: `{loguniform: [0.0001, 0.1]}`, not every empty kind."""
        return {key: value for key, value in handler(self).items() if value is not None}

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)

    @property
    def bounds(self) -> tuple[float, float]:
        """[low, high] of a range (not for choice)."""
        low, high = getattr(self, self.kind)
        return low, high

    @property
    def finite(self) -> bool:
        """A grid can list every value."""
        return self.kind in ("choice", "int") or (self.kind == "uniform" and self.step is not None)

    def ends(self) -> list[Any]:
        """The values to validate a recipe with: both ends of a range, or every choice."""
        if self.choice is not None:
            return list(self.choice)
        low, high = self.bounds
        return [low, high]

    def grid(self) -> list[Any]:
        """Every value, for the grid sampler (finite distributions only)."""
        if self.choice is not None:
            return list(self.choice)
        low, high = self.bounds
        step = self.step or 1
        count = round((high - low) / step) + 1
        values = [round(low + i * step, 12) for i in range(count)]  # 0.3, not 0.30000000000000004
        return [round(v) for v in values] if self.kind == "int" else values


def _recipe_key(key: str, info: ValidationInfo) -> str:
    """A dotted key that exists in the recipe schema (list items by number: model.layers.0.conv)."""
    registry = (info.context or {}).get("registry")
    parts = key.split(".")
    if not key or not all(parts):
        raise ValueError(f"'{key}' is not a dotted recipe key like train.optimizer.lr")
    if parts[0] == "tune":
        raise ValueError("tune: cannot search over its own settings")
    if registry is None:
        return key
    from easytrain.config.recipe import recipe_model

    root = recipe_model(registry)
    if not _has_path(root, parts):
        raise ValueError(f"'{key}' is not a recipe key{suggest(key, recipe_keys(root))}")
    return key


def _has_path(annotation: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    for member in members(annotation):
        origin, args = get_origin(member), get_args(member)
        if member is Any:
            return True
        if is_model(member):
            field = member.model_fields.get(head)
            if field is not None and _has_path(field.annotation, rest):
                return True
        elif origin is list and head.isdigit():
            if _has_path(args[0], rest):
                return True
        elif origin is tuple and head.isdigit():
            item = args[0] if len(args) == 2 and args[1] is Ellipsis else None
            if item is None and int(head) < len(args):
                item = args[int(head)]
            if item is not None and _has_path(item, rest):
                return True
        elif origin is dict and _has_path(args[1], rest):
            return True
    return False


def recipe_keys(annotation: Any, prefix: str = "") -> list[str]:
    """Every dotted key of the schema down through mappings (for 'did you mean')."""
    keys: list[str] = []
    for member in members(annotation):
        if is_model(member):
            for name, field in member.model_fields.items():
                if name == "tune" and not prefix:
                    continue
                keys.append(prefix + name)
                keys += recipe_keys(field.annotation, f"{prefix}{name}.")
    return list(dict.fromkeys(keys))


SpaceKey = Annotated[str, AfterValidator(_recipe_key)]


class TuneConfig(Section):
    """Hyper-parameter search with Optuna (`easytrain tune`); `easytrain run` ignores it."""

    metric: Monitor = "val_loss"
    """The logged column to optimise: val_loss, train_loss or val_<metric>; its value at the run's best epoch."""
    direction: Literal["auto", "minimize", "maximize"] = "auto"
    """auto: minimize losses and errors, maximize scores (known for every built-in metric)."""
    trials: PositiveInt | None = 20
    """Trials in the study, across every worker and machine (with sampler grid: at most the grid's size)."""
    timeout: PositiveFloat | None = None
    """Seconds after which a worker starts no new trial; --resume continues the study."""
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    """tpe (Bayesian), random, or grid (every combination; choice, int and stepped uniform only)."""
    pruner: Literal["median", "hyperband", "none"] = "median"
    """Stops a trial whose metric, epoch by epoch, falls behind the others: median, hyperband or none."""
    warmup_epochs: NonNegativeInt = 2
    """Epochs every trial runs before the pruner may stop it (early epochs say little)."""
    startup_trials: PositiveInt = 5
    """Trials sampled at random and never pruned, before tpe and the pruner start judging."""
    seed: Seed | None = None
    """Seeds the sampler (worker k adds k); default: the recipe's seed."""
    space: dict[SpaceKey, Distribution] = Field(min_length=1)
    """Dotted recipe key → distribution: {loguniform: [1e-4, 1e-1]}, {uniform: [0, 0.5]}, {int: [5, 30], step: 5}, {choice: [[64], [128, 64]]}."""

    @model_validator(mode="after")
    def _budget(self) -> TuneConfig:
        if self.trials is None and self.timeout is None:
            raise ValueError("give tune.trials, tune.timeout or both: the search needs a budget")
        return self


def tune_problems(data: dict[str, Any], val_fraction: float) -> list[tuple[tuple[Any, ...], str]]:
    """Checks on the raw recipe that span `tune:` and other sections (reported with the rest)."""
    tune = data.get("tune")
    if not isinstance(tune, dict):
        return []
    problems: list[tuple[tuple[Any, ...], str]] = []
    metric = tune.get("metric", "val_loss")
    if isinstance(metric, str) and metric.startswith("val_"):
        if val_fraction == 0:
            problems.append(
                (
                    ("tune", "metric"),
                    f"'{metric}' needs a validation split, but data.split.val is 0",
                )
            )
        found = data.get("evaluate")
        evaluate = found if isinstance(found, dict) else {}
        listed, gates = evaluate.get("metrics"), evaluate.get("gates") or {}
        name = metric.removeprefix("val_")
        if (
            name != "loss"
            and isinstance(listed, list)
            and name not in listed
            and (not isinstance(gates, dict) or name not in gates)
        ):
            problems.append(
                (("tune", "metric"), f"'{metric}' is not logged: add {name} to evaluate.metrics")
            )
    space = tune.get("space")
    if tune.get("sampler") == "grid" and isinstance(space, dict):
        for key, value in space.items():
            if isinstance(value, dict) and (
                "loguniform" in value or ("uniform" in value and "step" not in value)
            ):
                problems.append(
                    (
                        ("tune", "space", key),
                        "sampler grid lists every value: use choice, int, or uniform with a step",
                    )
                )
    return problems
