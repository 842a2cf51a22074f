"""Seeded, stratified train / val / test index splits."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from easytrain.config.data import SplitConfig
from easytrain.data.raw import RawData
from easytrain.errors import RunFailed


def split_indices(data: RawData, config: SplitConfig, seed: int) -> dict[str, np.ndarray]:
    """Indices of each split. Stratified for classification when every class can be."""
    index = np.arange(len(data.y))
    stratify = config.stratify and data.task == "classification"
    parts: dict[str, np.ndarray] = {}
    rest = index
    for name, fraction in (("test", config.test), ("val", config.val)):
        if fraction == 0:
            parts[name] = index[:0]
            continue
        share = fraction / (
            len(rest) / len(index)
        )  # fraction of the whole, taken from what is left
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
    return {name: np.sort(parts[name]) for name in ("train", "val", "test")}
