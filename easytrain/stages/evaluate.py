"""Metrics of the trained model on val and test, the decision threshold, plots, and the gates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from easytrain.config.evaluate import EvaluateConfig, ThresholdSearch
from easytrain.data.bundle import DataBundle
from easytrain.engine.optim import training_loss
from easytrain.errors import RunFailed
from easytrain.metrics import metric_names
from easytrain.metrics.gates import Gate, check_gates
from easytrain.metrics.scoring import Predictions, predict_split, score
from easytrain.metrics.tables import class_counts, confusion, per_class
from easytrain.metrics.threshold import best_threshold, labels_at
from easytrain.pipeline.context import RunContext

BATCH = 1024  # examples per forward pass when scoring a split


@dataclass
class Evaluation:
    """Everything one evaluation found; `metrics`, `gates` and `tables` go to summary.json."""

    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    predicted: dict[str, Predictions] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    threshold: dict[str, Any] | None = None
    gates: list[Gate] = field(default_factory=list)


def data_summary(data: DataBundle) -> dict[str, Any]:
    """Sizes and class balance of each split, for summary.json and the report."""
    splits = {name: data.split(name) for name in ("train", "val", "test")}
    found: dict[str, Any] = {
        "description": data.description,
        "task": data.task,
        "input_shape": list(data.input_shape),
        "classes": data.classes,
        "sizes": {name: len(split) if split is not None else 0 for name, split in splits.items()},
    }
    if data.classes is not None:
        found["class_counts"] = {
            name: class_counts(split.y.cpu().numpy(), data.classes)
            for name, split in splits.items()
            if split is not None
        }
    if data.resampled:
        found["resample"] = data.resampled
    return found


def choose_threshold(
    config: EvaluateConfig, raw: dict[str, Predictions], ctx: RunContext, fixed: float | None
) -> dict[str, Any] | None:
    """{value, optimize, val_value}: the recipe's number, a value already chosen (re-evaluation),
    or the best for `optimize` on the val split."""
    if config.threshold is None:
        return None
    if fixed is not None:
        return {"value": fixed, "optimize": None, "val_value": None}
    if not isinstance(config.threshold, ThresholdSearch):
        return {"value": float(config.threshold), "optimize": None, "val_value": None}
    if "val" not in raw:
        raise RunFailed("evaluate.threshold: optimize chooses on the val split; this data has none")
    name = config.threshold.optimize
    val = raw["val"]
    assert val.proba is not None
    value, best = best_threshold(val.y, val.proba[:, 1], ctx.registry.get("metric", name).load())
    return {"value": value, "optimize": name, "val_value": best}


def evaluate(
    ctx: RunContext,
    config: EvaluateConfig,
    splits: tuple[str, ...] = ("val", "test"),
    threshold: float | None = None,
) -> Evaluation:
    """Score the model on each split (and choose the threshold) without writing anything."""
    data, model = ctx.data, ctx.model
    assert data is not None and model is not None
    names = metric_names(config.metrics, config.needed_metrics(), data.task)
    loss_fn = training_loss(ctx.recipe.train, data, ctx.device)
    result, losses, outputs = Evaluation(), {}, {}
    for name in ("val", "test"):
        split = data.split(name)
        if split is None or (name not in splits and not _needs_val(config, name, threshold)):
            continue
        losses[name], outputs[name] = predict_split(
            model,
            split.x,
            split.y,
            task=data.task,
            loss_fn=loss_fn,
            batch_size=BATCH,
            device=ctx.device,
        )
    binary = data.classes is not None and len(data.classes) == 2
    result.threshold = choose_threshold(config, outputs, ctx, threshold) if binary else None
    cut = result.threshold["value"] if result.threshold else None
    for name, raw in outputs.items():
        if name not in splits:
            continue
        predicted = _relabel(raw, cut) if cut is not None else raw
        result.predicted[name] = predicted
        result.metrics[name] = {"loss": losses[name], **score(predicted, names, ctx.registry)}
        if data.classes is not None:
            result.tables.setdefault("per_class", {})[name] = per_class(
                predicted.y, predicted.pred, data.classes
            )
            matrix = confusion(predicted.y, predicted.pred, data.classes)
            if matrix is not None:
                result.tables.setdefault("confusion_matrix", {})[name] = matrix
    result.gates = check_gates(config, result.metrics, ctx.registry)
    return result


def _needs_val(config: EvaluateConfig, split: str, fixed: float | None) -> bool:
    return split == "val" and fixed is None and isinstance(config.threshold, ThresholdSearch)


def _relabel(raw: Predictions, threshold: float) -> Predictions:
    assert raw.proba is not None
    return Predictions(raw.y, labels_at(raw.proba[:, 1], threshold), raw.proba)


def report_lines(found: Evaluation) -> list[str]:
    lines = []
    if found.threshold is not None:
        t = found.threshold
        how = f" (best {t['optimize']} on val: {t['val_value']:.4f})" if t["optimize"] else ""
        lines.append(f"threshold: {t['value']:.4f}{how}")
    for split, values in found.metrics.items():
        lines.append(f"{split}: " + "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
    if found.gates:
        failed = sum(not g.passed for g in found.gates)
        total = len(found.gates)
        lines.append(
            f"gates: {total - failed} of {total} passed" + (", see below" if failed else "")
        )
    return lines


class EvaluateStage:
    def __init__(self, config: EvaluateConfig):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        assert ctx.data is not None
        found = evaluate(ctx, self.config)
        ctx.metrics, ctx.gates = found.metrics, found.gates
        ctx.threshold = found.threshold["value"] if found.threshold else None
        ctx.evaluation = {
            **found.tables,
            "threshold": found.threshold,
            "data": data_summary(ctx.data),
        }
        for line in report_lines(found):
            ctx.reporter.info(line)
        if ctx.data.task == "language_model":  # answers to fixed validation prompts
            from easytrain.tracking.samples import write_samples

            ctx.artifacts |= write_samples(ctx)
        if self.config.plots:
            from easytrain.tracking.plots import write_all

            # a language model's "predictions" are token losses: only the curves apply
            language = ctx.data.task == "language_model"
            written = write_all(ctx.run_dir, ctx.data, {} if language else found.predicted)
            ctx.artifacts |= {f"plot_{path.stem}": f"plots/{path.name}" for path in written}
            ctx.reporter.info(f"plots: {', '.join(p.name for p in written)} → plots/")
