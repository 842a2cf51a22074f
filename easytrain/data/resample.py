"""`data.resample`: rebalance the classes of a table's training split (imbalanced-learn).

Only the training split is resampled, after the split and the encoding, so validation and test
keep the real class balance and their metrics stay honest. The samplers are seeded with the
recipe's seed: the same recipe gives the same rows, so a resumed run continues exactly.
smote interpolates between standardized rows; one-hot categories come out fractional, which the
model reads as a blend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from easytrain.data.bundle import Split
from easytrain.errors import RecipeError, RunFailed

SMOTE_NEIGHBOURS = 5  # imbalanced-learn's default; fewer when the rarest class is smaller


def _counts(y: np.ndarray, classes: list[str]) -> dict[str, int]:
    found = np.bincount(y, minlength=len(classes))
    return {name: int(count) for name, count in zip(classes, found, strict=True)}


def _sampler(method: str, seed: int, smallest: int) -> Any:
    try:
        from imblearn.over_sampling import SMOTE, RandomOverSampler
        from imblearn.under_sampling import RandomUnderSampler
    except ImportError:
        raise RunFailed(
            f"data.resample: {method} needs imbalanced-learn: pip install 'easytrain[imbalance]'"
        ) from None
    if method == "oversample":
        return RandomOverSampler(random_state=seed)
    if method == "undersample":
        return RandomUnderSampler(random_state=seed)
    if smallest < 2:
        raise RunFailed(
            "data.resample: smote makes rows between neighbours of the same class, but a class "
            f"has {smallest} training row(s); use oversample"
        )
    return SMOTE(random_state=seed, k_neighbors=min(SMOTE_NEIGHBOURS, smallest - 1))


def resample_split(
    split: Split, method: str, seed: int, task: str, classes: list[str] | None
) -> tuple[Split, dict[str, Any]]:
    """The resampled training split, and its class counts before and after."""
    if task != "classification" or classes is None:
        raise RecipeError(f"data.resample: {method} balances classes; this data is {task}")
    if not isinstance(split.x, torch.Tensor) or split.x.ndim != 2:
        raise RecipeError("data.resample works on table rows (data.source: table)")
    x, y = split.x.numpy(), split.y.numpy()
    before = _counts(y, classes)
    present = [c for c in before.values() if c]
    x_new, y_new = _sampler(method, seed, min(present)).fit_resample(x, y)
    after = _counts(np.asarray(y_new), classes)
    resampled = Split(
        torch.from_numpy(np.ascontiguousarray(x_new, dtype=np.float32)),
        torch.from_numpy(np.ascontiguousarray(y_new, dtype=np.int64)),
    )
    return resampled, {"method": method, "before": before, "after": after}
