"""torchvision data sets: the official test split kept, val carved, missing files explained."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from easytrain.config.data import TorchvisionData, ValSplit
from easytrain.data.split import split_indices
from easytrain.data.torchvision_data import load
from easytrain.errors import RecipeError
from tests.data.makers import mnist_files

REPO_MNIST = Path(__file__).resolve().parents[2] / "data" / "MNIST" / "raw"


def test_mnist_files_load_with_the_official_test_split(tmp_path: Path) -> None:
    root = mnist_files(tmp_path / "data", train=200, test=50)
    raw = load(TorchvisionData(name="mnist", root=root))  # any spelling of the name
    assert raw.x.shape == (250, 1, 28, 28) and raw.x.dtype == np.uint8
    assert raw.classes[0] == "0 - zero" and len(raw.classes) == 10
    assert raw.fixed["test"].tolist() == list(range(200, 250))
    parts = split_indices(raw, ValSplit(val=0.1), seed=0)
    assert len(parts["test"]) == 50 and len(parts["val"]) == 20 and len(parts["train"]) == 180
    assert raw.where(210) == "MNIST test example 10"


def test_the_clones_mnist_files_are_unpacked_offline_and_data_limit_takes_the_first_n(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for packed in sorted(REPO_MNIST.glob("*-ubyte.gz")):  # as `recipes copy mnist --with-data`
        shutil.copyfile(packed, raw / packed.name)
    full = load(TorchvisionData(name="MNIST", root=tmp_path))  # download: false unpacks them
    assert len(list(raw.glob("*-ubyte"))) == 4
    train, test = np.split(full.y, [60_000])
    assert np.bincount(train).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert np.bincount(test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

    part = load(TorchvisionData(name="MNIST", root=tmp_path, limit=300))
    assert part.x.shape == (600, 1, 28, 28) and part.fixed["test"].tolist() == list(range(300, 600))
    assert np.array_equal(part.x[:300], full.x[:300]) and np.array_equal(
        part.x[300:], full.x[60_000:60_300]
    )
    assert np.array_equal(part.y[300:], full.y[60_000:60_300])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "MNIST",
            "put train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (the .gz files, unpacked or as they are) in {root}/MNIST/raw/",
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
