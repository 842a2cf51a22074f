"""Model inputs: images rescaled and normalized per channel, by the training split only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from easytrain.config.preprocess import PreprocessConfig
from easytrain.data.inputs import model_inputs
from easytrain.errors import RecipeError


def parts(train: list[int], val: list[int], test: list[int]) -> dict[str, np.ndarray]:
    return {
        name: np.asarray(rows, dtype=np.int64)
        for name, rows in zip(("train", "val", "test"), (train, val, test), strict=True)
    }


def test_images_use_training_statistics_only() -> None:
    x = np.zeros((4, 2, 2, 2), dtype=np.uint8)
    x[0, 0], x[1, 0] = 0, 255  # channel 0 of the training images: mean 0.5, std 0.5
    x[:2, 1] = 51  # channel 1: constant 0.2 → std 1 (left as it is)
    x[2:] = 255  # val and test are bright: they must not move the statistics
    inputs, info = model_inputs(x, parts([0, 1], [2], [3]), PreprocessConfig())
    assert info["normalize"]["mean"] == pytest.approx([0.5, 0.2])
    assert info["normalize"]["std"] == pytest.approx([0.5, 1.0])
    assert inputs["train"].dtype == torch.float32
    assert torch.allclose(
        inputs["train"][:, 0], torch.tensor([-1.0, 1.0]).view(2, 1, 1).expand(2, 2, 2)
    )
    assert torch.allclose(inputs["val"][0, 0], torch.ones(2, 2))
    assert info["rescale"] is True and info["dtype"] == "float32"


def test_rescale_without_normalize_gives_zero_to_one() -> None:
    x = np.array([[[[0, 255]]], [[[51, 102]]]], dtype=np.uint8)
    inputs, info = model_inputs(x, parts([0, 1], [], []), PreprocessConfig(normalize=False))
    assert torch.allclose(inputs["train"].flatten(), torch.tensor([0.0, 1.0, 0.2, 0.4]))
    assert "normalize" not in info and len(inputs["val"]) == 0


def test_given_mean_and_std_are_used() -> None:
    x = np.full((3, 3, 1, 1), 255, dtype=np.uint8)
    config = PreprocessConfig(mean=[0.5, 0.5, 0.5], std=[0.25, 0.5, 1.0])
    inputs, _ = model_inputs(x, parts([0], [1], [2]), config)
    assert inputs["test"].flatten().tolist() == pytest.approx([2.0, 1.0, 0.5])
    with pytest.raises(RecipeError, match="preprocess.mean has 1 values but the images have 3"):
        model_inputs(x, parts([0], [1], [2]), PreprocessConfig(mean=[0.5], std=[0.2]))


def test_token_ids_pass_through_and_splits_are_views() -> None:
    x = np.arange(12, dtype=np.int64).reshape(4, 3)
    inputs, info = model_inputs(x, parts([3, 1], [0], [2]), PreprocessConfig())
    assert info == {"dtype": "int64"}
    assert inputs["train"].tolist() == [[9, 10, 11], [3, 4, 5]]
    assert (
        inputs["train"].untyped_storage().data_ptr() == inputs["test"].untyped_storage().data_ptr()
    )


def test_features_are_standardized_per_feature() -> None:
    x = np.array([[1.0, 10.0], [3.0, 10.0], [100.0, 0.0]], dtype=np.float32)
    inputs, info = model_inputs(x, parts([0, 1], [2], []), PreprocessConfig())
    assert info["normalize"]["mean"] == pytest.approx([2.0, 10.0])
    assert inputs["train"][:, 0].tolist() == pytest.approx([-1.0, 1.0])
    with pytest.raises(RecipeError, match="are for 8-bit images"):
        model_inputs(x, parts([0, 1], [2], []), PreprocessConfig(mean=[0.0], std=[1.0]))


def test_rows_already_in_split_order_give_the_same_inputs() -> None:
    x = np.random.default_rng(0).normal(5.0, 3.0, (50, 4)).astype(np.float32)
    split = parts(list(range(10, 50)), list(range(5)), list(range(5, 10)))
    order = np.concatenate([split["train"], split["val"], split["test"]])
    shuffled, info = model_inputs(x, split, PreprocessConfig())
    in_order, same_info = model_inputs(x[order].copy(), split, PreprocessConfig(), in_order=True)
    assert info == same_info
    for name in ("train", "val", "test"):
        assert torch.equal(shuffled[name], in_order[name])
    train = x[10:].astype(np.float64)
    assert info["normalize"]["mean"] == pytest.approx(train.mean(0).tolist(), rel=1e-5)
    assert info["normalize"]["std"] == pytest.approx(train.std(0).tolist(), rel=1e-5)
