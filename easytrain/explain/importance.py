"""Permutation importance: how much the run's metric worsens when one input column is shuffled.

Shuffling a column keeps its values but cuts their link to the row, so the metric's drop is what
the model gets from that column. Columns one-hot encoded into several inputs are shuffled
together (the same row order), so each *input column* of the table has one number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Groups = list[tuple[str, list[int]]]  # input column → its positions among the model's inputs


def table_groups(card: dict[str, Any]) -> Groups:
    """The model inputs that belong to each column of the table (or each feature)."""
    table = card["preprocessing"].get("encoding", {}).get("table")
    if table is None:
        names = card.get("feature_names") or [
            f"feature {i}" for i in range(int(np.prod(card["input_shape"])))
        ]
        return [(name, [i]) for i, name in enumerate(names)]
    groups: Groups = [(name, [i]) for i, name in enumerate(table["numeric"])]
    offset = len(groups)
    for name, spec in table["categorical"].items():
        width = len(spec["categories"]) + 1 if table["categorical_encoding"] == "onehot" else 1
        groups.append((name, list(range(offset, offset + width))))
        offset += width
    return groups


def permutation_importance(
    score: Callable[[torch.Tensor], float],
    x: torch.Tensor,
    groups: Groups,
    higher_is_better: bool,
    repeats: int,
    seed: int,
) -> list[dict[str, Any]]:
    """One row per column, most important first: the mean and spread of the metric's drop."""
    baseline = score(x)
    rng = np.random.default_rng(seed)
    found = []
    for name, columns in groups:
        drops = []
        for _ in range(repeats):
            order = torch.from_numpy(rng.permutation(len(x)))
            shuffled = x.clone()
            shuffled[:, columns] = x[order][:, columns]
            worse = baseline - score(shuffled)
            drops.append(worse if higher_is_better else -worse)
        found.append(
            {
                "column": name,
                "importance_mean": float(np.mean(drops)),
                "importance_std": float(np.std(drops)),
                "repeats": repeats,
            }
        )
    return sorted(found, key=lambda row: -row["importance_mean"])
