"""Quality gates: absolute bounds (`gates:`) and drops against a baseline run (`max_drop:`).

Each gate becomes one JSON-ready record; summary.json keeps the list, and the CLI prints it as a
table when a gate fails.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, fields
from typing import Any

from easytrain.config.evaluate import EvaluateConfig, GateSpec, parse_gate, read_baseline
from easytrain.errors import GateFailed, RunFailed
from easytrain.registry import Registry

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
Metrics = dict[str, dict[str, Any]]  # split → metric → value


@dataclass(frozen=True)
class Gate:
    """One gate, checked. summary.json and evaluations/*.json keep it as `as_json()`."""

    metric: str
    split: str
    value: float | None  # None: the run did not compute the metric on that split
    op: str  # >=, >, <=, <
    bound: float
    passed: bool
    missed_by: float | None  # how far a computed value fell short
    baseline: float | None = None  # max_drop gates: the baseline run's value
    max_drop: float | None = None

    @classmethod
    def check(
        cls,
        metric: str,
        split: str,
        value: float | None,
        op: str,
        bound: float,
        baseline: float | None = None,
        max_drop: float | None = None,
    ) -> Gate:
        passed = value is not None and not math.isnan(value) and _OPS[op](value, bound)
        missed_by = None if passed or value is None else abs(value - bound)
        return cls(metric, split, value, op, bound, passed, missed_by, baseline, max_drop)

    @property
    def relative(self) -> bool:
        """Computed from a baseline run (evaluate.max_drop), not written in the recipe."""
        return self.baseline is not None

    def bound_text(self) -> str:
        """As written for an absolute gate; to 4 decimals when computed from a baseline."""
        return f"{self.bound:.4f}" if self.relative else f"{self.bound:.6g}"

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "metric": self.metric,
            "split": self.split,
            "value": self.value,
            "op": self.op,
            "bound": self.bound,
        }
        if self.relative:
            record |= {"baseline": self.baseline, "max_drop": self.max_drop}
        return record | {"passed": self.passed, "missed_by": self.missed_by}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Gate:
        """A gate read back from summary.json (keys the record lacks take their defaults)."""
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})


def absolute_gates(config: EvaluateConfig, metrics: Metrics, registry: Registry) -> list[Gate]:
    results: list[Gate] = []
    for name, gate in config.gates.items():
        expression, split = (
            (gate.bound, gate.split or config.gate_split)
            if isinstance(gate, GateSpec)
            else (gate, config.gate_split)
        )
        op, bound = parse_gate(expression)
        if op is None:
            op = ">=" if registry.get("metric", name).info.higher_is_better else "<="
        results.append(Gate.check(name, split, metrics.get(split, {}).get(name), op, bound))
    return results


def relative_gates(
    config: EvaluateConfig, metrics: Metrics, registry: Registry, baseline: Metrics
) -> list[Gate]:
    """value may be worse than the baseline's by at most max_drop: a fall for higher-is-better
    metrics, a rise for the others."""
    results: list[Gate] = []
    split = config.gate_split
    for name, drop in config.max_drop.items():
        found = baseline.get(split, {}).get(name)
        if found is None:  # the baseline changed since the recipe was validated
            raise RunFailed(f"evaluate.baseline: {config.baseline} has no {split} {name}")
        reference = float(found)
        higher = registry.get("metric", name).info.higher_is_better
        op, bound = (">=", reference - drop) if higher else ("<=", reference + drop)
        value = metrics.get(split, {}).get(name)
        results.append(Gate.check(name, split, value, op, bound, reference, drop))
    return results


def check_gates(config: EvaluateConfig, metrics: Metrics, registry: Registry) -> list[Gate]:
    """Every gate of the recipe against these metrics; the baseline is read now, not cached."""
    results = absolute_gates(config, metrics, registry)
    if config.baseline is not None and config.max_drop:
        try:
            baseline = read_baseline(config.baseline)["metrics"]
        except ValueError as exc:  # it went away since the recipe was validated
            raise RunFailed(f"evaluate.baseline: {exc}") from None
        results += relative_gates(config, metrics, registry, baseline)
    return results


def failure_message(gates: list[Gate]) -> str:
    """One line per missed gate, for the error the CLI prints."""
    lines = []
    for g in gates:
        if g.passed:
            continue
        value = "missing" if g.value is None else f"{g.value:.4f}"
        against = f" (baseline {g.baseline:.4f}, max_drop {g.max_drop:g})" if g.relative else ""
        missed = f" (missed by {g.missed_by:.4g})" if g.missed_by is not None else ""
        lines.append(
            f"{g.split} {g.metric} = {value} is not {g.op} {g.bound_text()}{against}{missed}"
        )
    return "quality gate failed: " + "; ".join(lines)


def raise_if_failed(gates: list[Gate]) -> None:
    """GateFailed (exit 3), with every gate for the table, when any gate was missed."""
    if any(not g.passed for g in gates):
        raise GateFailed(failure_message(gates), gates)
