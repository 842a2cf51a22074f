"""Which way is better for a logged column (val_loss, val_accuracy …): it decides the best epoch,
early stopping, plateau schedules and the direction of a hyper-parameter search."""

from __future__ import annotations

from typing import TYPE_CHECKING

from easytrain.metrics import MetricInfo

if TYPE_CHECKING:
    from easytrain.registry import Registry


def metric_infos(registry: Registry) -> dict[str, MetricInfo]:
    """Every registered metric's facts (the built-in catalogue and plugins' metrics)."""
    return {c.name: c.info for c in registry if c.kind == "metric"}


def monitor_mode(monitor: str, mode: str, registry: Registry) -> str:
    """'min' or 'max' for a logged column such as val_loss or val_accuracy."""
    if mode != "auto":
        return mode
    metric = monitor.removeprefix("val_").removeprefix("test_")
    info = metric_infos(registry).get(metric)
    return "max" if info is not None and info.higher_is_better else "min"
