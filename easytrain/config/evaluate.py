"""The `evaluate:` section: metrics on val and test, and the gates a CI job relies on."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, ValidationInfo

from easytrain.config.base import Section
from easytrain.registry import suggest

GATE = re.compile(r"^\s*(>=|<=|>|<)?\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")


def parse_gate(expression: float | str) -> tuple[str | None, float]:
    """'>= 0.95' → ('>=', 0.95); a bare number → (None, value): its direction comes from the metric."""
    if isinstance(expression, bool):
        raise ValueError("a gate is a number or a comparison like '>= 0.95', not true/false")
    if isinstance(expression, int | float):
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


def _known_metric(name: str, info: ValidationInfo) -> str:
    registry = (info.context or {}).get("registry")
    if registry is not None and name not in registry.names("metric"):
        known = registry.names("metric")
        raise ValueError(
            f"unknown metric '{name}'{suggest(name, known)}; choose from: {', '.join(known)}"
        )
    return name


MetricName = Annotated[str, AfterValidator(_known_metric)]


class EvaluateConfig(Section):
    """Metrics on the val and test splits, and the gates the run must pass."""

    type: Literal["default"] = "default"
    """The evaluate stage implementation."""
    metrics: list[MetricName] | None = None
    """Metric names; default: accuracy, f1_macro (classification) or mse, mae, r2 (regression)."""
    gates: dict[MetricName, GateBound] = {}
    """metric: bound. A bare number means 'at least' for higher-is-better metrics, 'at most' otherwise; or '>= 0.9', '<= 12.5'. A miss exits with code 3."""
    gate_split: Literal["val", "test"] = "test"
    """The split whose metrics the gates check."""
