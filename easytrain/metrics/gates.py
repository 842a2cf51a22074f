"""Quality gates: absolute bounds (`gates:`) and drops against a baseline run (`max_drop:`).

Each gate becomes one JSON-ready record; summary.json keeps the list, and the CLI prints it as a
table when a gate fails.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from easytrain.config.evaluate import EvaluateConfig, GateSpec, parse_gate, read_baseline
from easytrain.errors import RunFailed
from easytrain.registry import Registry
from easytrain.tracking.gatetable import bound

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
Metrics = dict[str, dict[str, Any]]  # split → metric → value


def _record(
    name: str, split: str, value: float | None, op: str, bound: float, **extra: Any
) -> dict[str, Any]:
    passed = value is not None and not math.isnan(value) and _OPS[op](value, bound)
    return {
        "metric": name,
        "split": split,
        "value": value,
        "op": op,
        "bound": bound,
        **extra,
        "passed": passed,
        "missed_by": None if passed or value is None else abs(value - bound),
    }


def absolute_gates(config: EvaluateConfig, metrics: Metrics, registry: Registry) -> list[dict]:
    results = []
    for name, gate in config.gates.items():
        expression, split = (
            (gate.bound, gate.split or config.gate_split)
            if isinstance(gate, GateSpec)
            else (gate, config.gate_split)
        )
        op, bound = parse_gate(expression)
        if op is None:
            op = ">=" if registry.get("metric", name).info.higher_is_better else "<="
        results.append(_record(name, split, metrics.get(split, {}).get(name), op, bound))
    return results


def relative_gates(
    config: EvaluateConfig, metrics: Metrics, registry: Registry, baseline: Metrics
) -> list[dict]:
    """value may be worse than the baseline's by at most max_drop: a fall for higher-is-better
    metrics, a rise for the others."""
    results, split = [], config.gate_split
    for name, drop in config.max_drop.items():
        reference = float(baseline.get(split, {})[name])
        higher = registry.get("metric", name).info.higher_is_better
        op, bound = (">=", reference - drop) if higher else ("<=", reference + drop)
        results.append(
            _record(
                name,
                split,
                metrics.get(split, {}).get(name),
                op,
                bound,
                baseline=reference,
                max_drop=drop,
            )
        )
    return results


def check_gates(config: EvaluateConfig, metrics: Metrics, registry: Registry) -> list[dict]:
    """Every gate of the recipe against these metrics; the baseline is read now, not cached."""
    results = absolute_gates(config, metrics, registry)
    if config.baseline is not None and config.max_drop:
        try:
            baseline = read_baseline(config.baseline)["metrics"]
        except ValueError as exc:  # it went away since the recipe was validated
            raise RunFailed(f"evaluate.baseline: {exc}") from None
        results += relative_gates(config, metrics, registry, baseline)
    return results


def failure_message(gates: list[dict]) -> str:
    """One line per missed gate, for the error the CLI prints."""
    lines = []
    for g in gates:
        if g["passed"]:
            continue
        value = "missing" if g["value"] is None else f"{g['value']:.4f}"
        against = (
            f" (baseline {g['baseline']:.4f}, max_drop {g['max_drop']:g})"
            if "baseline" in g
            else ""
        )
        missed = f" (missed by {g['missed_by']:.4g})" if g["missed_by"] is not None else ""
        lines.append(
            f"{g['split']} {g['metric']} = {value} is not {g['op']} {bound(g)}{against}{missed}"
        )
    return "quality gate failed: " + "; ".join(lines)
