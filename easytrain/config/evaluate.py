"""The `evaluate:` section: metrics on val and test, the decision threshold, the plots, and the
gates a CI job relies on (absolute bounds, and drops against a baseline run)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from easytrain.config.base import Section
from easytrain.errors import suggest
from easytrain.registry import Registry

GATE = re.compile(r"^\s*(>=|<=|>|<)?\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")
Split = Literal["val", "test"]


def parse_gate(expression: float | str) -> tuple[str | None, float]:
    """'>= 0.95' → ('>=', 0.95); a bare number → (None, value): its direction comes from the metric."""
    if isinstance(expression, bool):
        raise ValueError("a gate is a number or a comparison like '>= 0.95', not true/false")
    if isinstance(expression, int | float):
        if not math.isfinite(expression):
            raise ValueError(f"a gate is a finite number, got {expression}")
        return None, float(expression)
    match = GATE.match(expression)
    if not match:
        raise ValueError(
            f"'{expression}' is not a gate; write a number or a comparison like '>= 0.95' or '<= 12.5'"
        )
    return match.group(1), float(match.group(2))


def _check_gate(expression: float | str) -> float | str:
    parse_gate(expression)
    return expression


def _not_bool(value: object) -> object:
    if isinstance(value, bool):  # YAML `true` would otherwise become the bound 1.0
        raise ValueError("a gate is a number or a comparison like '>= 0.95', not true/false")
    return value


GateBound = Annotated[float | str, BeforeValidator(_not_bool), AfterValidator(_check_gate)]


def _registry(info: ValidationInfo) -> Registry | None:
    return (info.context or {}).get("registry")


def _known_metric(name: str, info: ValidationInfo) -> str:
    registry = _registry(info)
    if registry is not None and name not in registry.names("metric"):
        known = registry.names("metric")
        raise ValueError(
            f"unknown metric '{name}'{suggest(name, known)}; choose from: {', '.join(known)}"
        )
    return name


MetricName = Annotated[str, AfterValidator(_known_metric)]


def _label_metric(name: str, info: ValidationInfo) -> str:
    registry = _registry(info)
    facts = registry.get("metric", name).info if registry is not None else None
    if facts is not None and (facts.task != "classification" or facts.needs_proba):
        raise ValueError(
            f"'{name}' does not depend on the threshold; pick a metric of predicted labels "
            "such as f1, accuracy, balanced_accuracy or f1_macro"
        )
    return name


class GateSpec(Section):
    """A gate with its own split: `log_loss: {bound: '<= 0.3', split: val}`."""

    bound: GateBound
    """A number ('at least' or 'at most' by the metric's direction) or a comparison like '>= 0.9'."""
    split: Split | None = None
    """The split this gate checks; default: evaluate.gate_split."""


def _gate(value: Any) -> float | str | GateSpec:
    """A bound, or {bound, split}. Checked by hand rather than as a pydantic union, so that an
    error names the gate (evaluate.gates.accuracy) and not the union member that was tried."""
    if isinstance(value, GateSpec):
        return value
    if isinstance(value, dict):
        unknown = [key for key in value if key not in GateSpec.model_fields]
        if unknown:
            raise ValueError(
                f"unknown key '{unknown[0]}' in a gate; a gate mapping has bound and split"
            )
        if "bound" not in value:
            raise ValueError("a gate mapping needs a bound, e.g. {bound: '>= 0.9', split: val}")
        if value.get("split") not in (None, "val", "test"):
            raise ValueError(f"a gate's split is val or test, got {value['split']!r}")
        return GateSpec(bound=_bound(value["bound"]), split=value.get("split"))
    return _bound(value)


def _bound(value: Any) -> float | str:
    _not_bool(value)
    if not isinstance(value, int | float | str):
        raise ValueError(
            "a gate is a number, a comparison like '>= 0.95', or {bound: '>= 0.95', split: val}"
        )
    parse_gate(value)
    return float(value) if isinstance(value, int) else value


def _dump_gate(value: float | str | GateSpec) -> Any:
    return value.model_dump(mode="json") if isinstance(value, GateSpec) else value


Gate = Annotated[
    float | str | GateSpec,
    PlainValidator(_gate, json_schema_input_type=float | str | GateSpec),
    PlainSerializer(_dump_gate),
]


class ThresholdSearch(Section):
    """Choose the threshold on the validation split: `threshold: {optimize: f1}`."""

    optimize: Annotated[MetricName, AfterValidator(_label_metric)] = "f1"
    """The metric of predicted labels to maximise on the validation split (f1, accuracy …)."""


def baseline_file(path: Path) -> Path:
    """A run folder means its summary.json."""
    return path / "summary.json" if path.is_dir() else path


def read_baseline(path: Path) -> dict[str, Any]:
    """The baseline's summary.json, or ValueError saying what is wrong with it."""
    file = baseline_file(path)
    if not file.is_file():
        where = (
            f"no summary.json in the folder {path}" if path.is_dir() else f"no such file: {path}"
        )
        raise ValueError(f"{where} (relative paths start at {Path.cwd()})")
    try:
        summary = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{file} is not a readable summary.json ({exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("metrics"), dict):
        raise ValueError(f"{file} has no 'metrics'; point at a run's summary.json or run folder")
    for split, values in summary["metrics"].items():
        if not isinstance(values, dict):
            raise ValueError(
                f"{file}: metrics.{split} is {values!r:.60}, not metric names and numbers"
            )
        for name, value in values.items():  # max_drop does arithmetic on them
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"{file}: metrics.{split}.{name} is {value!r:.60}, not a number")
    return summary


def _existing_baseline(path: Path) -> Path:
    read_baseline(path)
    return path


class EvaluateConfig(Section):
    """Metrics on the val and test splits, and the gates the run must pass."""

    type: Literal["default"] = "default"
    """The evaluate stage implementation."""
    metrics: list[MetricName] | None = None
    """Metric names; default: accuracy, f1_macro (classification) or mse, mae, r2 (regression)."""
    gates: dict[MetricName, Gate] = {}
    """metric: bound. A bare number means 'at least' for higher-is-better metrics, 'at most' otherwise; or '>= 0.9', '<= 12.5'; or {bound: …, split: val}. A miss exits with code 3."""
    gate_split: Split = "test"
    """The split whose metrics the gates check."""
    baseline: Annotated[Path, AfterValidator(_existing_baseline)] | None = None
    """A previous run (its folder or summary.json) that max_drop compares against."""
    max_drop: dict[MetricName, Annotated[float, Field(ge=0)]] = {}
    """metric: the largest worsening allowed against the baseline, on gate_split (a rise for lower-is-better metrics). A bigger drop exits with code 3."""
    threshold: Annotated[float, Field(gt=0, lt=1)] | ThresholdSearch | None = None
    """Two classes only: predict class 1 when its probability reaches this, or {optimize: f1} to choose it on the validation split; none: the more probable class."""
    plots: bool = True
    """Write PNG plots to plots/: curves, confusion matrix, ROC/PR, regression errors, worst images."""

    @field_validator("max_drop")
    @classmethod
    def _needs_baseline(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        # here rather than below, so that the error points at max_drop (baseline comes first)
        if value and "baseline" in info.data and info.data["baseline"] is None:
            raise ValueError("max_drop compares against a baseline: set evaluate.baseline too")
        return value

    @model_validator(mode="after")
    def _baseline_and_max_drop(self) -> EvaluateConfig:
        if self.max_drop and self.baseline is None:
            raise ValueError("max_drop compares against a baseline: set evaluate.baseline too")
        if self.baseline is not None and not self.max_drop:
            raise ValueError(
                "baseline is only used by max_drop: add e.g. evaluate.max_drop: {accuracy: 0.01}"
            )
        if self.baseline is not None:
            found = read_baseline(self.baseline)["metrics"].get(self.gate_split) or {}
            missing = [name for name in self.max_drop if found.get(name) is None]
            if missing:
                raise ValueError(
                    f"max_drop: the baseline {baseline_file(self.baseline)} has no "
                    f"{self.gate_split} {', '.join(missing)}"
                )
        return self

    def gate_splits(self) -> set[str]:
        """Every split a gate reads."""
        splits = {
            g.split or self.gate_split for g in self.gates.values() if isinstance(g, GateSpec)
        }
        plain = any(not isinstance(g, GateSpec) for g in self.gates.values())
        return splits | ({self.gate_split} if plain or self.max_drop else set())

    def needed_metrics(self) -> list[str]:
        """Metrics that gates and the threshold search read, besides the configured ones."""
        search = [self.threshold.optimize] if isinstance(self.threshold, ThresholdSearch) else []
        return list(dict.fromkeys([*self.gates, *self.max_drop, *search]))


def check_against_task(
    config: EvaluateConfig,
    task: str,
    num_classes: int | None,
    registry: Registry,
    splits: set[str] | None = None,
) -> list[str]:
    """What can be checked only once the data is known, before training: each metric fits the
    task and the number of classes, and the splits that gates and the threshold read exist."""
    problems = []
    if splits is not None:
        for split in sorted(config.gate_splits() - splits):
            problems.append(f"evaluate: a gate checks the {split} split, but this data has none")
        if isinstance(config.threshold, ThresholdSearch) and "val" not in splits:
            problems.append(
                "evaluate.threshold: optimize chooses on the val split; this data has none"
            )
    for name in dict.fromkeys([*(config.metrics or []), *config.needed_metrics()]):
        info = registry.get("metric", name).info
        if info.task != task:
            problems.append(
                f"evaluate: metric '{name}' is for {info.task}, but this data is {task}"
            )
        elif getattr(info, "binary_only", False) and num_classes != 2:
            problems.append(
                f"evaluate: metric '{name}' is for two classes, but this data has {num_classes}; "
                f"use {name}_macro, {name}_micro or {name}_weighted"
            )
        elif num_classes is not None and num_classes < getattr(info, "min_classes", 0):
            problems.append(
                f"evaluate: metric '{name}' needs at least {info.min_classes} classes "
                f"(with fewer it is always 1), but this data has {num_classes}"
            )
    if config.threshold is not None and num_classes != 2:
        found = f"{num_classes} classes" if num_classes else "a regression target"
        problems.append(
            f"evaluate.threshold: a decision threshold is for two classes; this data has {found}"
        )
    return problems
