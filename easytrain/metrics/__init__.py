"""Metrics: a catalog of names and directions (cheap), and the functions that compute them.

The catalog is the one list: recipe validation, gates, early-stopping direction and the README
derive from it. The functions live in `compute.py` (scikit-learn, imported only when a metric is
computed), one per name, called on whole splits of numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

TaskKind = Literal["classification", "regression", "language_model"]


@dataclass(frozen=True)
class MetricInfo:
    task: TaskKind
    higher_is_better: bool
    needs_proba: bool = False  # reads class probabilities, so a decision threshold cannot move it
    binary_only: bool = False  # defined for two classes only (the positive class is index 1)
    min_classes: int = 0  # e.g. top-5 accuracy says nothing with 5 classes or fewer


def _c(higher: bool = True, **facts: bool | int) -> MetricInfo:
    return MetricInfo("classification", higher, **facts)  # type: ignore[arg-type]


CATALOG: dict[str, MetricInfo] = {
    "accuracy": _c(),
    "balanced_accuracy": _c(),
    "top3_accuracy": _c(needs_proba=True, min_classes=4),
    "top5_accuracy": _c(needs_proba=True, min_classes=6),
    "precision": _c(binary_only=True),
    "recall": _c(binary_only=True),
    "f1": _c(binary_only=True),
    "precision_macro": _c(),
    "precision_micro": _c(),
    "precision_weighted": _c(),
    "recall_macro": _c(),
    "recall_micro": _c(),
    "recall_weighted": _c(),
    "f1_macro": _c(),
    "f1_micro": _c(),
    "f1_weighted": _c(),
    "roc_auc": _c(needs_proba=True),
    "pr_auc": _c(needs_proba=True),
    "log_loss": _c(False, needs_proba=True),
    "calibration_error": _c(False, needs_proba=True),
    "mse": MetricInfo("regression", False),
    "rmse": MetricInfo("regression", False),
    "mae": MetricInfo("regression", False),
    "mape": MetricInfo("regression", False),
    "r2": MetricInfo("regression", True),
    "perplexity": MetricInfo("language_model", False),  # exp(mean loss per answer token)
}

DEFAULTS: dict[TaskKind, list[str]] = {
    "classification": ["accuracy", "f1_macro"],
    "regression": ["mse", "mae", "r2"],
    "language_model": ["perplexity"],
}


def metric_names(
    configured: list[str] | None, gated: Iterable[str], task: TaskKind, *more: Iterable[str]
) -> list[str]:
    """The metrics a run computes: the configured ones (or the task's defaults), then every name
    a gate, a relative gate or the threshold search needs (any iterable of names, e.g. a dict)."""
    extra = [name for names in (gated, *more) for name in names]
    return list(dict.fromkeys([*(configured or DEFAULTS[task]), *extra]))
