"""scikit-learn implementations of the catalog, on whole splits.

Each takes the true targets, the predicted labels (or values) and, for classification, the
predicted class probabilities.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as sk


def accuracy(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.accuracy_score(y, pred))


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.balanced_accuracy_score(y, pred))


def f1_macro(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.f1_score(y, pred, average="macro", zero_division=0))


def f1_weighted(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.f1_score(y, pred, average="weighted", zero_division=0))


def precision_macro(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.precision_score(y, pred, average="macro", zero_division=0))


def recall_macro(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.recall_score(y, pred, average="macro", zero_division=0))


def log_loss(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    assert proba is not None
    return float(sk.log_loss(y, proba, labels=list(range(proba.shape[1]))))


def mse(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.mean_squared_error(y, pred))


def rmse(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.root_mean_squared_error(y, pred))


def mae(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.mean_absolute_error(y, pred))


def r2(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.r2_score(y, pred))
