"""An epoch's validation scored on the device gives the numbers of the host (numpy) path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from easytrain.engine.validation import _on_device, val_scores
from easytrain.metrics.scoring import evaluate_split
from easytrain.registry import Registry
from tests.engine.test_steps import training


def _host(t, names: list[str]) -> dict[str, float]:
    assert t.val is not None
    return evaluate_split(
        t.model,
        t.val.x,
        t.val.y,
        task=t.task,
        loss_fn=t.loss_fn,
        names=names,
        registry=t.registry,
        batch_size=3,
        device=t.device,
    )


def test_accuracy_on_the_device_is_the_host_accuracy_also_when_logits_tie(tmp_path: Path) -> None:
    t = training(tmp_path)
    assert _on_device(t)
    found = val_scores(t, batch_size=3)
    assert found == _host(t, ["accuracy"])
    assert 0.0 <= found["accuracy"] <= 1.0
    with torch.no_grad():  # every logit equal: both paths take the first class
        t.model.weight.zero_()
        t.model.bias.zero_()
    tied = val_scores(t, batch_size=3)
    assert tied == _host(t, ["accuracy"])
    assert tied["accuracy"] == float((t.val.y == 0).float().mean())


def test_other_metrics_and_a_plugin_accuracy_take_the_host_path(tmp_path: Path) -> None:
    t = training(tmp_path)
    both = replace(t, metric_names=["accuracy", "f1_macro"])
    assert not _on_device(both)
    assert val_scores(both, batch_size=3) == _host(t, ["accuracy", "f1_macro"])
    registry = Registry()  # a plugin's accuracy under the same name is called, not the count
    registry.add("metric", "accuracy", "tests.engine.test_validation:always_half", origin="plugin")
    plugin = replace(t, registry=registry)
    assert not _on_device(plugin)
    assert val_scores(plugin, batch_size=3)["accuracy"] == 0.5


def always_half(y, pred, proba) -> float:
    return 0.5
