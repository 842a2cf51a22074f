"""Metrics of the trained model on val and test, and the quality gates."""

from __future__ import annotations

import operator

from easytrain.config.evaluate import EvaluateConfig, parse_gate
from easytrain.context import RunContext
from easytrain.engine.optim import training_loss
from easytrain.metrics import metric_names
from easytrain.metrics.scoring import evaluate_split

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def check_gates(
    config: EvaluateConfig, metrics: dict[str, dict[str, float]], registry
) -> list[dict]:
    results = []
    for name, expression in config.gates.items():
        op, bound = parse_gate(expression)
        if op is None:
            op = ">=" if registry.get("metric", name).info.higher_is_better else "<="
        value = metrics.get(config.gate_split, {}).get(name)
        passed = value is not None and _OPS[op](value, bound)
        results.append(
            {
                "metric": name,
                "split": config.gate_split,
                "value": value,
                "op": op,
                "bound": bound,
                "passed": passed,
                "missed_by": None if passed or value is None else abs(value - bound),
            }
        )
    return results


class EvaluateStage:
    def __init__(self, config: EvaluateConfig):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        data, model = ctx.data, ctx.model
        assert data is not None and model is not None
        names = metric_names(self.config.metrics, self.config.gates, data.task)
        loss_fn = training_loss(ctx.recipe.train, data, ctx.device)
        for split_name in ("val", "test"):
            split = data.split(split_name)
            if split is None:
                continue
            ctx.metrics[split_name] = evaluate_split(
                model,
                split.x,
                split.y,
                task=data.task,
                loss_fn=loss_fn,
                names=names,
                registry=ctx.registry,
                batch_size=1024,
                device=ctx.device,
            )
        ctx.gates = check_gates(self.config, ctx.metrics, ctx.registry)
        for split_name, values in ctx.metrics.items():
            shown = "  ".join(f"{k} {v:.4f}" for k, v in values.items())
            ctx.reporter.info(f"{split_name}: {shown}")
        for gate in ctx.gates:
            verdict = "pass" if gate["passed"] else f"FAIL (missed by {gate['missed_by']:.4g})"
            ctx.reporter.info(
                f"gate {gate['split']} {gate['metric']} {gate['value']:.4f} "
                f"{gate['op']} {gate['bound']}: {verdict}"
            )
