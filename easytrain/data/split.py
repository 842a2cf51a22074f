"""Seeded, stratified train / val / test index splits, and the labels check that follows them."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from easytrain.data.raw import RawData
from easytrain.errors import RunFailed

NAMES = ("train", "val", "test")


def split_indices(data: RawData, config: Any, seed: int) -> dict[str, np.ndarray]:
    """Indices of each split. Splits the source fixed (data.fixed) are kept; the others are
    carved from the remaining examples by config's fractions (stratified for classification when
    every class can be). A fraction config does not have (no `test` for torchvision) is 0."""
    index = np.arange(len(data.y))
    parts: dict[str, np.ndarray] = dict(data.fixed)
    taken = np.zeros(len(index), dtype=bool)
    for fixed in parts.values():
        taken[fixed] = True
    pool = index[~taken]
    stratify = getattr(config, "stratify", False) and data.task == "classification"
    rest = pool
    for name in ("test", "val"):
        if name in parts:
            continue
        fraction = getattr(config, name, 0.0)
        if fraction == 0:
            parts[name] = index[:0]
            continue
        share = fraction * len(pool) / len(rest)  # a fraction of the pool, taken from what is left
        labels = data.y[rest] if stratify else None
        try:
            rest, parts[name] = train_test_split(
                rest, test_size=share, random_state=seed, stratify=labels
            )
        except ValueError as exc:
            raise RunFailed(
                f"cannot split {len(rest)} examples into a {name} share of {fraction}: {exc}"
            ) from None
    parts["train"] = rest
    return {name: np.sort(parts[name]) for name in NAMES}


def check_labels_seen(data: RawData, parts: dict[str, np.ndarray]) -> None:
    """A val/test label the training split never has cannot be learned: say where it is."""
    if data.task != "classification" or data.classes is None:
        return
    seen = np.zeros(len(data.classes), dtype=bool)
    seen[np.unique(data.y[parts["train"]])] = True
    for name in ("val", "test"):
        rows = parts[name]
        unseen = rows[~seen[data.y[rows]]]
        if len(unseen):
            label = data.classes[int(data.y[unseen[0]])]
            raise RunFailed(
                f"{data.where(int(unseen[0]))}: the {name} split has label '{label}' "
                f"({len(unseen)} example(s)) that the training split never has, so the model "
                "cannot learn it; add training examples of it or remove them"
            )
