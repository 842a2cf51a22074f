"""Metrics: a catalog of names and directions (cheap), and the functions that compute them.

The functions are scikit-learn's, called on whole splits of numpy arrays; scikit-learn is imported
only when a metric is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TaskKind = Literal["classification", "regression"]


@dataclass(frozen=True)
class MetricInfo:
    task: TaskKind
    higher_is_better: bool
    needs_proba: bool = False


CATALOG: dict[str, MetricInfo] = {
    "accuracy": MetricInfo("classification", True),
    "balanced_accuracy": MetricInfo("classification", True),
    "f1_macro": MetricInfo("classification", True),
    "f1_weighted": MetricInfo("classification", True),
    "precision_macro": MetricInfo("classification", True),
    "recall_macro": MetricInfo("classification", True),
    "log_loss": MetricInfo("classification", False, needs_proba=True),
    "mse": MetricInfo("regression", False),
    "rmse": MetricInfo("regression", False),
    "mae": MetricInfo("regression", False),
    "r2": MetricInfo("regression", True),
}

DEFAULTS: dict[TaskKind, list[str]] = {
    "classification": ["accuracy", "f1_macro"],
    "regression": ["mse", "mae", "r2"],
}


def metric_names(
    configured: list[str] | None, gates: dict[str, object], task: TaskKind
) -> list[str]:
    """The metrics a run computes: the configured ones (or the task's defaults) plus gated ones."""
    return list(dict.fromkeys([*(configured or DEFAULTS[task]), *gates]))
