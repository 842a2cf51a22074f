"""The data configs: the forms people write, and the cross-section checks that read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from easytrain.config.data import ImageFolderData, TorchvisionData, held_out_fractions
from easytrain.config.load import load_recipe
from easytrain.errors import RecipeError


def test_image_size_is_a_number_or_height_and_width(tmp_path: Path) -> None:
    assert ImageFolderData(path=tmp_path, image_size=32).image_size == 32
    assert ImageFolderData(path=tmp_path, image_size=[24, 32]).image_size == (24, 32)
    with pytest.raises(ValueError, match=r"image_size is \[height, width\] or one number"):
        ImageFolderData(path=tmp_path, image_size=[1, 2, 3])


@pytest.mark.parametrize(
    ("written", "name"),
    [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST"), ("cifar-10", "CIFAR10")],
)
def test_torchvision_names_in_any_spelling(written: str, name: str) -> None:
    assert TorchvisionData(name=written).name == name


def test_held_out_fractions_count_folders_and_official_splits() -> None:
    assert held_out_fractions({"source": "torchvision", "split": {"val": 0}}) == {
        "val": 0,
        "test": 1.0,
    }
    given = {"source": "image_folder", "test": "data/test", "split": {"test": 0}}
    assert held_out_fractions(given) == {"val": 0.15, "test": 1.0}
    assert held_out_fractions({"name": "iris", "split": {"test": 0}})["test"] == 0


def recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


def test_gates_on_an_official_test_split_are_fine(tmp_path: Path) -> None:
    load_recipe(
        recipe(
            tmp_path,
            "data: {source: torchvision, name: MNIST}\nevaluate: {gates: {accuracy: 0.9}}\n",
        )
    )
    (tmp_path / "test").mkdir()
    load_recipe(
        recipe(
            tmp_path,
            f"data: {{source: image_folder, path: {tmp_path}, test: {tmp_path / 'test'},"
            " split: {test: 0}}\nevaluate: {gates: {accuracy: 0.9}}\n",
        )
    )
    with pytest.raises(RecipeError, match="gates check the test split, but data.split.test is 0"):
        load_recipe(
            recipe(
                tmp_path,
                "data: {name: iris, split: {test: 0}}\nevaluate: {gates: {accuracy: 0.9}}\n",
            )
        )


def test_torchvision_split_has_no_test_share(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"data.split.test: unknown key 'test'"):
        load_recipe(
            recipe(tmp_path, "data: {source: torchvision, name: MNIST, split: {test: 0.2}}\n")
        )


def test_unknown_source_is_suggested(tmp_path: Path) -> None:
    with pytest.raises(
        RecipeError, match=r"unknown data source 'image_folders' \(did you mean 'image_folder'\?\)"
    ):
        load_recipe(recipe(tmp_path, "data: {source: image_folders, path: x}\n"))
