"""error_rate: the share of wrong predictions."""

from __future__ import annotations

import numpy as np


def error_rate(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    return 1.0 - float(np.mean(np.asarray(y) == np.asarray(pred)))
