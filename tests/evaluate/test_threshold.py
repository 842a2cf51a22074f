"""The decision threshold: chosen on val to maximise the named metric, saved, and used."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from easytrain.metrics import compute
from easytrain.metrics.threshold import best_threshold, labels_at
from tests.conftest import summary


def _brute_force_best_f1(y: np.ndarray, positive: np.ndarray) -> float:
    """The best F1 over every threshold that can matter: each probability and a fine grid."""
    grid = np.concatenate([np.unique(positive), np.linspace(0, 1, 1001), [1.01]])
    labels = positive[None, :] >= grid[:, None]  # one row per threshold
    tp = (labels & (y == 1)).sum(1)
    fp = (labels & (y == 0)).sum(1)
    fn = (~labels & (y == 1)).sum(1)
    return float(np.max(2 * tp / np.maximum(2 * tp + fp + fn, 1)))


@pytest.mark.parametrize("seed", range(4))
def test_the_chosen_threshold_maximises_f1(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 120)
    positive = np.round(np.clip(0.35 * y + rng.uniform(0, 0.65, 120), 0, 1), 2)  # many ties
    threshold, value = best_threshold(y, positive, compute.f1)
    assert value == pytest.approx(_brute_force_best_f1(y, positive))
    assert f1_score(y, labels_at(positive, threshold)) == pytest.approx(value)
    assert threshold not in set(positive)  # between two examples, not on one


def test_a_clean_separation_gets_a_threshold_between_the_classes() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    positive = np.array([0.05, 0.1, 0.2, 0.3, 0.8, 0.9])
    threshold, value = best_threshold(y, positive, compute.f1)
    assert value == 1.0 and 0.2 < threshold <= 0.3


def test_the_run_saves_and_uses_the_threshold(binary_run: Path) -> None:
    result = summary(binary_run)
    chosen = result["threshold"]
    assert chosen["optimize"] == "f1" and 0 < chosen["value"] < 1
    # The val labels in summary.json follow the chosen threshold ...
    assert result["metrics"]["val"]["f1"] == pytest.approx(chosen["val_value"])
    # ... which does at least as well on val as the 0.5 of the per-epoch log at the best epoch.
    rows = list(csv.DictReader((binary_run / "metrics.csv").open()))
    at_half = float(rows[result["best_epoch"] - 1]["val_f1"])
    assert chosen["val_value"] >= at_half - 1e-9
    card = json.loads((binary_run / "export/model.json").read_text())
    assert card["threshold"] == chosen["value"]


def test_a_threshold_needs_two_classes(tmp_path: Path) -> None:
    from tests.conftest import RECIPES, cli

    done = cli(
        "run", str(RECIPES / "iris.yaml"), "--out", str(tmp_path / "r"), "evaluate.threshold=0.3"
    )
    assert done.returncode == 2, done.stderr
    assert "evaluate.threshold" in done.stderr and "3 classes" in done.stderr
    assert not (tmp_path / "r" / "checkpoints").exists()  # refused before training
