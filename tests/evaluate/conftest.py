"""Small real runs shared by the evaluation tests (each trains once per test session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RECIPES, cli

BINARY_METRICS = "[accuracy, f1, precision, recall, roc_auc, pr_auc, log_loss, calibration_error]"


def train(out: Path, recipe: str, *overrides: str, code: int = 0) -> Path:
    done = cli("run", str(RECIPES / recipe), "--out", str(out), "~export", *overrides)
    assert done.returncode == code, done.stderr
    return out


@pytest.fixture(scope="session")
def binary_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """breast_cancer, threshold chosen for f1 on val."""
    return train(
        tmp_path_factory.mktemp("binary") / "run",
        "breast_cancer.yaml",
        "train.epochs=3",
        "~train.early_stopping",
        "evaluate.threshold={optimize: f1}",
        f"evaluate.metrics={BINARY_METRICS}",
        "evaluate.gates={accuracy: 0.5}",
        "export={formats: [state_dict]}",
    )


@pytest.fixture(scope="session")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """digits as 8×8 images with a small CNN, one epoch: some test images are wrong."""
    return train(
        tmp_path_factory.mktemp("image") / "run",
        "digits.yaml",
        "train.epochs=1",
        "~train.scheduler",
        "model.layers=[{conv: {channels: 8}}, flatten, {dense: {units: 32}}]",
        "evaluate.gates={accuracy: 0.3}",
        "evaluate.metrics=[accuracy, top3_accuracy, f1_macro, roc_auc, log_loss]",
    )


@pytest.fixture(scope="session")
def regression_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(
        tmp_path_factory.mktemp("regression") / "run",
        "diabetes.yaml",
        "train.epochs=3",
        "evaluate.metrics=[mse, rmse, mae, r2, mape]",
        "~evaluate.gates",
    )
