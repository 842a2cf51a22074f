"""torchvision data sets: the official test split kept, val carved, missing files explained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from easytrain.config.data import TorchvisionData, ValSplit
from easytrain.data.split import split_indices
from easytrain.data.torchvision_data import load
from easytrain.errors import RecipeError
from tests.data.makers import mnist_files


def test_mnist_files_load_with_the_official_test_split(tmp_path: Path) -> None:
    root = mnist_files(tmp_path / "data", train=200, test=50)
    raw = load(TorchvisionData(name="mnist", root=root))  # any spelling of the name
    assert raw.x.shape == (250, 1, 28, 28) and raw.x.dtype == np.uint8
    assert raw.classes[0] == "0 - zero" and len(raw.classes) == 10
    assert raw.fixed["test"].tolist() == list(range(200, 250))
    parts = split_indices(raw, ValSplit(val=0.1), seed=0)
    assert len(parts["test"]) == 50 and len(parts["val"]) == 20 and len(parts["train"]) == 180
    assert raw.where(210) == "MNIST test example 10"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "MNIST",
            "put train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (the .gz files, unpacked) in {root}/MNIST/raw/",
        ),
        ("fashion_mnist", "in {root}/FashionMNIST/raw/"),
        ("KMNIST", "in {root}/KMNIST/raw/"),
        (
            "CIFAR10",
            "unpack cifar-10-python.tar.gz into {root}/, so that {root}/cifar-10-batches-py/ holds data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch, batches.meta",
        ),
        ("CIFAR100", "so that {root}/cifar-100-python/ holds train, test, meta"),
        ("SVHN", "put train_32x32.mat, test_32x32.mat in {root}/"),
    ],
)
def test_missing_files_say_exactly_what_goes_where(
    tmp_path: Path, name: str, expected: str
) -> None:
    root = tmp_path / "empty"
    with pytest.raises(RecipeError) as caught:
        load(TorchvisionData(name=name, root=root))
    message = str(caught.value)
    assert expected.format(root=root) in message
    assert "data.download: true" in message


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="MNIST"):
        TorchvisionData(name="imagenet")
