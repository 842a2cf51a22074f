"""Which values a run logs per epoch, so that a monitor naming any other is refused up front.

metrics.csv has train_loss, val_loss and val_<metric> for the metrics the run computes: those of
`evaluate.metrics` (or the task's defaults), and every one a gate, a max_drop or the threshold
search reads. A monitor outside them would pick no best checkpoint, or stop training on nothing.
"""

from __future__ import annotations

from typing import Any

from easytrain.metrics import DEFAULTS

LOSSES = ("train_loss", "val_loss")


def raw_task(data: Any) -> str | None:
    """The task a raw `data:` mapping implies, where it can be told without reading the data."""
    data = data if isinstance(data, dict) else {}
    source = data.get("source", "builtin")
    if source == "builtin":
        return "regression" if data.get("name") == "diabetes" else "classification"
    if source in ("image_folder", "torchvision"):
        return "classification"
    task = data.get("task", "auto")
    return task if task in DEFAULTS else None


def logged_metrics(evaluate: Any, task: str | None) -> set[str]:
    """Metric names a run logs as val_<name>; with an unknown task, those of either task."""
    evaluate = evaluate if isinstance(evaluate, dict) else {}
    listed = evaluate.get("metrics")
    if isinstance(listed, list):
        names = {name for name in listed if isinstance(name, str)}
    else:
        names = {n for t, defaults in DEFAULTS.items() if task in (None, t) for n in defaults}
    for key in ("gates", "max_drop"):
        if isinstance(evaluate.get(key), dict):
            names |= {name for name in evaluate[key] if isinstance(name, str)}
    threshold = evaluate.get("threshold")
    if isinstance(threshold, dict):
        names.add(threshold.get("optimize", "f1"))
    return names


def unlogged(monitor: Any, evaluate: Any, task: str | None, known: list[str]) -> str | None:
    """Why `monitor` is not a logged value, or None. Unknown metric names are left to the
    monitor's own check (which suggests a spelling)."""
    if not isinstance(monitor, str) or monitor in LOSSES or not monitor.startswith("val_"):
        return None
    name = monitor.removeprefix("val_")
    if name not in known or name in logged_metrics(evaluate, task):
        return None
    return f"'{monitor}' is not logged: add {name} to evaluate.metrics"
