"""Each catalog metric against a direct library (or numpy) computation on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from easytrain.metrics import CATALOG, compute
from easytrain.metrics.tables import confusion, per_class
from easytrain.registry import default_registry

RNG = np.random.default_rng(0)
N, C = 300, 7
Y = RNG.integers(0, C, N)
# Probabilities that lean towards the true class, so that every metric is far from trivial.
PROBA = RNG.dirichlet(np.ones(C), N) + np.eye(C)[Y] * RNG.uniform(0, 1, (N, 1))
PROBA /= PROBA.sum(axis=1, keepdims=True)
PRED = PROBA.argmax(1)

YB = RNG.integers(0, 2, N)
P1 = np.clip(YB * 0.3 + RNG.uniform(0, 0.7, N), 0.001, 0.999)
PROBA_B = np.stack([1 - P1, P1], axis=1)
PRED_B = (P1 >= 0.5).astype(int)


def _ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error by hand: |accuracy − confidence| per bin, weighted by its size."""
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return total


def _ovr(score, y: np.ndarray, proba: np.ndarray) -> float:
    present = [c for c in range(proba.shape[1]) if 0 < (y == c).sum() < len(y)]
    return float(np.mean([score(y == c, proba[:, c]) for c in present]))


MULTICLASS = {
    "accuracy": lambda: np.mean(Y == PRED),
    "balanced_accuracy": lambda: np.mean([np.mean(PRED[c == Y] == c) for c in range(C)]),
    "top3_accuracy": lambda: np.mean([Y[i] in np.argsort(-PROBA[i])[:3] for i in range(N)]),
    "top5_accuracy": lambda: np.mean([Y[i] in np.argsort(-PROBA[i])[:5] for i in range(N)]),
    "precision_macro": lambda: sk.precision_score(Y, PRED, average="macro"),
    "precision_micro": lambda: sk.precision_score(Y, PRED, average="micro"),
    "precision_weighted": lambda: sk.precision_score(Y, PRED, average="weighted"),
    "recall_macro": lambda: sk.recall_score(Y, PRED, average="macro"),
    "recall_micro": lambda: sk.recall_score(Y, PRED, average="micro"),
    "recall_weighted": lambda: sk.recall_score(Y, PRED, average="weighted"),
    "f1_macro": lambda: sk.f1_score(Y, PRED, average="macro"),
    "f1_micro": lambda: sk.f1_score(Y, PRED, average="micro"),
    "f1_weighted": lambda: sk.f1_score(Y, PRED, average="weighted"),
    "roc_auc": lambda: sk.roc_auc_score(Y, PROBA, multi_class="ovr", average="macro"),
    "pr_auc": lambda: _ovr(sk.average_precision_score, Y, PROBA),
    "log_loss": lambda: -np.mean(np.log(PROBA[np.arange(N), Y])),
    "calibration_error": lambda: _ece(PROBA.max(1), (PRED == Y).astype(float)),
}
BINARY = {
    "precision": lambda: sk.precision_score(YB, PRED_B),
    "recall": lambda: np.mean(PRED_B[YB == 1] == 1),
    "f1": lambda: sk.f1_score(YB, PRED_B),
    "roc_auc": lambda: sk.roc_auc_score(YB, P1),
    "pr_auc": lambda: sk.average_precision_score(YB, P1),
    "log_loss": lambda: -np.mean(np.log(np.where(YB == 1, P1, 1 - P1))),
    "calibration_error": lambda: _ece(P1, YB.astype(float)),
}
YR = RNG.uniform(20, 300, N)
PR = YR + RNG.normal(0, 25, N)
REGRESSION = {
    "mse": lambda: np.mean((YR - PR) ** 2),
    "rmse": lambda: np.sqrt(np.mean((YR - PR) ** 2)),
    "mae": lambda: np.mean(np.abs(YR - PR)),
    "mape": lambda: np.mean(np.abs(YR - PR) / np.abs(YR)),
    "r2": lambda: 1 - np.sum((YR - PR) ** 2) / np.sum((YR - YR.mean()) ** 2),
}
# language models: each example's summed answer-token loss and its answer-token count
NLL, TOKENS = RNG.uniform(0, 40, N), RNG.integers(1, 20, N)
LANGUAGE = {"perplexity": lambda: np.exp(NLL.sum() / TOKENS.sum())}


def test_the_catalog_is_the_one_list() -> None:
    registry = default_registry()
    assert set(CATALOG) <= set(registry.names("metric"))
    for name, info in CATALOG.items():
        assert callable(getattr(compute, name)), name
        assert registry.get("metric", name).info == info
    covered = set(MULTICLASS) | set(BINARY) | set(REGRESSION) | set(LANGUAGE)
    assert covered == set(CATALOG), "every metric has a reference computation below"


@pytest.mark.parametrize("name", sorted(MULTICLASS))
def test_multiclass_metric(name: str) -> None:
    got = getattr(compute, name)(Y, PRED, PROBA)
    assert got == pytest.approx(float(MULTICLASS[name]()), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_metric(name: str) -> None:
    got = getattr(compute, name)(YB, PRED_B, PROBA_B)
    assert got == pytest.approx(float(BINARY[name]()), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_metric(name: str) -> None:
    got = getattr(compute, name)(YR, PR, None)
    assert got == pytest.approx(float(REGRESSION[name]()), rel=1e-9)


def test_auc_skips_a_class_the_split_lacks() -> None:
    """A val split without class 4 still gets a one-vs-rest AUC, over the classes it has."""
    keep = Y != 4
    assert (~keep).any()
    got = compute.roc_auc(Y[keep], PRED[keep], PROBA[keep])
    assert got == pytest.approx(_ovr(sk.roc_auc_score, Y[keep], PROBA[keep]))


def test_per_class_table_and_confusion_matrix() -> None:
    classes = [f"c{i}" for i in range(C)]
    report = sk.classification_report(Y, PRED, output_dict=True, zero_division=0)
    table = per_class(Y, PRED, classes)
    for i, name in enumerate(classes):
        assert table[name]["precision"] == pytest.approx(report[str(i)]["precision"])
        assert table[name]["recall"] == pytest.approx(report[str(i)]["recall"])
        assert table[name]["f1"] == pytest.approx(report[str(i)]["f1-score"])
        assert table[name]["support"] == np.sum(i == Y)
    counts = np.asarray(confusion(Y, PRED, classes)["counts"])
    for t in range(C):
        for p in range(C):
            assert counts[t, p] == np.sum((t == Y) & (p == PRED))


def test_perplexity_is_the_exponential_of_the_mean_token_loss() -> None:
    got = compute.perplexity(NLL, TOKENS, None)
    assert got == pytest.approx(float(LANGUAGE["perplexity"]()), rel=1e-9)
