"""Per-class results and the confusion matrix: tables for summary.json, not gateable numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as sk

MAX_MATRIX_CLASSES = 100  # beyond this a confusion matrix is too big to read or to keep in JSON


def per_class(y: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict[str, dict[str, Any]]:
    """{class name: {precision, recall, f1, support}} for every class, present or not."""
    labels = np.arange(len(classes))
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0
    )
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    }


def confusion(y: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict[str, Any] | None:
    """Counts with true classes as rows and predicted classes as columns; None for too many classes."""
    if len(classes) > MAX_MATRIX_CLASSES:
        return None
    counts = sk.confusion_matrix(y, pred, labels=np.arange(len(classes)))
    return {
        "labels": list(classes),
        "rows": "true",
        "columns": "predicted",
        "counts": counts.tolist(),
    }


def class_counts(y: np.ndarray, classes: list[str]) -> dict[str, int]:
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(classes))
    return {name: int(counts[i]) for i, name in enumerate(classes)}
