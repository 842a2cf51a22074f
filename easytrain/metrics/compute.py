"""The catalog's metrics, computed by scikit-learn (torchmetrics for calibration) on whole splits.

Each takes the true targets, the predicted labels (or values) and, for classification, the class
probabilities (n, classes). With two classes the positive class is index 1 and the labels follow
the run's decision threshold (evaluate.threshold); probability metrics ignore the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn import metrics as sk
from sklearn.preprocessing import label_binarize

Metric = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]  # (y, pred, proba) → value


def accuracy(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    # what sk.accuracy_score computes, without its 2–3 ms of input checks (every epoch's val)
    return float(np.mean(np.asarray(y) == np.asarray(pred)))


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.balanced_accuracy_score(y, pred))


def _top_k(k: int) -> Metric:
    def top_k_accuracy(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        assert proba is not None
        return float(sk.top_k_accuracy_score(y, proba, k=k, labels=np.arange(proba.shape[1])))

    top_k_accuracy.__doc__ = f"The share of examples whose class is among the {k} most probable."
    return top_k_accuracy


top3_accuracy = _top_k(3)
top5_accuracy = _top_k(5)


def _averaged(score: Callable[..., float], average: str) -> Metric:
    def metric(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        return float(score(y, pred, average=average, zero_division=0))

    return metric


precision = _averaged(sk.precision_score, "binary")
recall = _averaged(sk.recall_score, "binary")
f1 = _averaged(sk.f1_score, "binary")
precision_macro = _averaged(sk.precision_score, "macro")
precision_micro = _averaged(sk.precision_score, "micro")
precision_weighted = _averaged(sk.precision_score, "weighted")
recall_macro = _averaged(sk.recall_score, "macro")
recall_micro = _averaged(sk.recall_score, "micro")
recall_weighted = _averaged(sk.recall_score, "weighted")
f1_macro = _averaged(sk.f1_score, "macro")
f1_micro = _averaged(sk.f1_score, "micro")
f1_weighted = _averaged(sk.f1_score, "weighted")


def _one_vs_rest(score: Callable[..., float], y: np.ndarray, proba: np.ndarray) -> float:
    """Binary: the score of class 1's probability. More classes: the macro average of each
    class against the rest, over the classes present in y (the others have no positives)."""
    if proba.shape[1] == 2:
        return float(score(y, proba[:, 1])) if len(np.unique(y)) == 2 else math.nan
    onehot = label_binarize(y, classes=np.arange(proba.shape[1]))
    present = onehot.any(axis=0) & ~onehot.all(axis=0)
    if not present.any():
        return math.nan  # one class only: no ranking to judge
    return float(score(onehot[:, present], proba[:, present], average="macro"))


def roc_auc(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    assert proba is not None
    return _one_vs_rest(sk.roc_auc_score, y, proba)


def pr_auc(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    """Average precision: the area under the precision-recall curve, step-wise (no interpolation)."""
    assert proba is not None
    return _one_vs_rest(sk.average_precision_score, y, proba)


def log_loss(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    assert proba is not None
    return float(sk.log_loss(y, proba, labels=list(range(proba.shape[1]))))


CALIBRATION_BINS = 15  # equal-width confidence bins, as in Guo et al. 2017


def calibration_error(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    """Expected calibration error (L1, 15 equal-width bins): how far confidence is from accuracy.

    Binary: the positive-class probability against the share of positives in each bin (what a
    reliability diagram shows). More classes: the top-label confidence against accuracy.
    """
    assert proba is not None
    import torch
    from torchmetrics.functional.classification import (
        binary_calibration_error,
        multiclass_calibration_error,
    )

    p, target = torch.from_numpy(np.asarray(proba, np.float32)), torch.from_numpy(np.asarray(y))
    if proba.shape[1] == 2:
        value = binary_calibration_error(p[:, 1].contiguous(), target, n_bins=CALIBRATION_BINS)
    else:
        value = multiclass_calibration_error(
            p, target, num_classes=proba.shape[1], n_bins=CALIBRATION_BINS
        )
    return float(value)


def mse(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.mean_squared_error(y, pred))


def rmse(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.root_mean_squared_error(y, pred))


def mae(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.mean_absolute_error(y, pred))


def mape(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    """Mean absolute percentage error as a fraction (0.1 = 10 %); huge where targets are near 0."""
    return float(sk.mean_absolute_percentage_error(y, pred))


def r2(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return float(sk.r2_score(y, pred))


def perplexity(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    """Language models: y is each example's summed loss over its answer tokens, pred their count
    (metrics.scoring), so this is exp(the mean loss per answer token)."""
    return float(np.exp(np.sum(y) / max(float(np.sum(pred)), 1.0)))
