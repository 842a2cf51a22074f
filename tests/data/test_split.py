"""Splits: fixed ones kept, the rest carved from what is left; unseen labels named."""

from __future__ import annotations

import numpy as np
import pytest

from easytrain.config.data import SplitConfig, ValSplit
from easytrain.data.raw import RawData
from easytrain.data.split import check_labels_seen, split_indices
from easytrain.errors import RunFailed


def raw(labels: list[int], **kwargs) -> RawData:
    y = np.asarray(labels, dtype=np.int64)
    return RawData(
        np.zeros((len(y), 1), np.float32), y, "classification", classes=["a", "b", "c"], **kwargs
    )


def test_fixed_test_split_is_kept_and_val_is_carved_from_the_rest() -> None:
    data = raw([0, 1] * 50, fixed={"test": np.arange(80, 100)})
    parts = split_indices(data, ValSplit(val=0.25), seed=0)
    assert parts["test"].tolist() == list(range(80, 100))
    assert len(parts["val"]) == 20 and len(parts["train"]) == 60
    assert set(parts["val"]) | set(parts["train"]) == set(range(80))


def test_fractions_are_shares_of_the_pool() -> None:
    data = raw([0, 1] * 50, fixed={"val": np.arange(0, 50)})
    parts = split_indices(data, SplitConfig(val=0.3, test=0.2), seed=0)
    assert len(parts["val"]) == 50 and len(parts["test"]) == 10 and len(parts["train"]) == 40


def test_a_label_only_in_test_is_named_with_its_row() -> None:
    data = raw([0, 1, 0, 1, 2], locate=lambda i: f"data.csv:{i + 2}")
    parts = {"train": np.arange(4), "val": np.arange(0), "test": np.array([4])}
    with pytest.raises(
        RunFailed,
        match=r"data.csv:6: the test split has label 'c' \(1 example\(s\)\) that the training split never has",
    ):
        check_labels_seen(data, parts)
