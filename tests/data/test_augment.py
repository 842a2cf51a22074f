"""preprocess.augment: validated like layers, drawn per example, seeded by torch's generator."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from easytrain.config.load import load_recipe
from easytrain.config.preprocess import PreprocessConfig
from easytrain.data.augment import build_augment
from easytrain.errors import RecipeError

EIGHT_BIT = {"dtype": "float32", "rescale": True, "normalize": {"mean": [0.5], "std": [0.25]}}


def augment(items: list, shape=(1, 8, 8), info=EIGHT_BIT):
    return build_augment(PreprocessConfig(augment=items).augment, shape, info)


def test_short_forms_and_settings_validate() -> None:
    config = PreprocessConfig(
        augment=[
            "hflip",
            {"vflip": 0.2},
            {"random_crop": {"size": 28, "padding": 2}},
            {"rotation": 10},
            {"color_jitter": {"brightness": 0.2, "hue": 0.1}},
        ]
    )
    kinds = [next(iter(type(item).model_fields)) for item in config.augment]
    assert kinds == ["hflip", "vflip", "random_crop", "rotation", "color_jitter"]
    assert config.augment[1].vflip.p == 0.2 and config.augment[3].rotation.degrees == 10


def test_unknown_names_get_a_suggestion(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "data: {name: digits}\npreprocess:\n  augment: [hflp, {rotation: {degres: 5}}]\n"
    )
    with pytest.raises(RecipeError) as caught:
        load_recipe(recipe)
    message = str(caught.value)
    assert (
        "r.yaml:3:13 preprocess.augment.0: unknown augmentation 'hflp' (did you mean 'hflip'?)"
        in message
    )
    assert "unknown key 'degres' (did you mean 'degrees'?)" in message


def test_each_example_gets_its_own_draw() -> None:
    image = torch.arange(64, dtype=torch.float32).view(1, 1, 8, 8)
    batch = image.repeat(200, 1, 1, 1)
    out = augment(["hflip"])(batch)
    flipped = (out == image.flip(-1)).flatten(1).all(1)
    kept = (out == image).flatten(1).all(1)
    assert bool((flipped | kept).all())
    assert 60 < int(flipped.sum()) < 140  # about half, drawn per example, not per batch


def test_the_same_seed_gives_the_same_augmentations() -> None:
    transform = augment(["hflip", {"random_crop": {"padding": 2}}, {"rotation": 15}])
    batch = torch.rand(16, 1, 8, 8)
    torch.manual_seed(3)
    first = transform(batch)
    torch.manual_seed(3)
    assert torch.equal(transform(batch), first)
    assert not torch.equal(transform(batch), first)  # the generator moved on


def test_colour_jitter_works_on_pixels_and_returns_normalized_inputs() -> None:
    transform = augment(
        [{"color_jitter": {"brightness": 0.0}}],
        (3, 4, 4),
        {
            "dtype": "float32",
            "rescale": False,
            "normalize": {"mean": [100.0] * 3, "std": [50.0] * 3},
        },
    )
    batch = torch.randn(5, 3, 4, 4)
    assert torch.allclose(transform(batch), batch, atol=1e-5)  # identity jitter: a round trip
    brighter = augment([{"color_jitter": {"brightness": 0.5}}])(torch.zeros(50, 1, 8, 8))
    assert brighter.std() > 0  # per-example factors


def test_threads_are_restored_after_a_batch() -> None:
    threads = torch.get_num_threads()
    augment(["hflip"])(torch.rand(4, 1, 8, 8))
    assert torch.get_num_threads() == threads


def test_misfits_are_recipe_errors() -> None:
    with pytest.raises(
        RecipeError, match=r"random_crop size \[6, 6\] differs from the image size \[8, 8\]"
    ):
        augment([{"random_crop": {"size": 6}}])
    with pytest.raises(RecipeError, match="augmentations are for images"):
        augment(["hflip"], (13,), {"dtype": "float32"})
    with pytest.raises(RecipeError, match="color_jitter needs 8-bit images"):
        augment([{"color_jitter": {"brightness": 0.1}}], (1, 8, 8), {"dtype": "float32"})
    assert augment([]) is None
