"""A test plugin for easytrain: what a third-party package adds through the entry point."""

from __future__ import annotations

from easytrain.metrics import MetricInfo
from easytrain_testplugin.config import LinearProbeConfig


def register(registry) -> None:
    registry.add("model", "linear_probe", "easytrain_testplugin.model:build", LinearProbeConfig)
    registry.add(
        "metric",
        "error_rate",
        "easytrain_testplugin.metrics:error_rate",
        info=MetricInfo("classification", higher_is_better=False),
    )
