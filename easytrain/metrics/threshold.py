"""The decision threshold of a two-class model, chosen on the validation split."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_CANDIDATES = 1000  # distinct cut points tried; beyond that, evenly spaced quantiles


def labels_at(positive: np.ndarray, threshold: float) -> np.ndarray:
    """Class 1 where its probability reaches the threshold, else class 0."""
    return (positive >= threshold).astype(np.int64)


def candidates(positive: np.ndarray) -> np.ndarray:
    """Thresholds that between them give every distinct labelling of these probabilities.

    Each is the midpoint between two neighbouring distinct probabilities (so that the choice
    does not sit on a validation example), plus one below all and one above all.
    """
    values = np.unique(positive.astype(np.float64))
    if len(values) > MAX_CANDIDATES:
        values = np.unique(np.quantile(values, np.linspace(0, 1, MAX_CANDIDATES)))
    middles = (values[:-1] + values[1:]) / 2
    return np.concatenate([[values[0] / 2], middles, [(values[-1] + 1) / 2]])


def best_threshold(
    y: np.ndarray,
    positive: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray, np.ndarray | None], float],
) -> tuple[float, float]:
    """(threshold, metric value) that maximise the metric on (y, positive-class probability).

    Ties go to the threshold nearest 0.5, the one an uncalibrated reader expects.
    """
    best: tuple[float, float, float] | None = None  # (value, -distance to 0.5, threshold)
    for threshold in candidates(positive):
        value = metric(y, labels_at(positive, threshold), None)
        key = (value, -abs(threshold - 0.5), float(threshold))
        if best is None or key > best:
            best = key
    assert best is not None
    return best[2], best[0]
