"""Every shipped recipe validates, and its resolved dump validates again to the same recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from easytrain.config.load import dump_recipe, load_recipe

RECIPES = sorted((Path(__file__).parents[2] / "recipes").glob("*.yaml"))


def test_recipes_are_found():
    assert {"digits", "iris"} <= {path.stem for path in RECIPES}


@pytest.mark.parametrize("path", RECIPES, ids=[path.stem for path in RECIPES])
def test_shipped_recipe_round_trips(path: Path, tmp_path: Path):
    recipe = load_recipe(path)
    assert recipe.name == yaml.safe_load(path.read_text()).get("name", path.stem)

    dumped = dump_recipe(recipe)
    copy = tmp_path / "other-name.yaml"  # the dump carries its name; the file name must not matter
    copy.write_text(dumped, encoding="utf-8")
    again = load_recipe(copy)

    assert again == recipe
    assert again.name == recipe.name
    assert dump_recipe(again) == dumped, "the dump is a fixed point"
    assert "!!" not in dumped, "plain YAML, no Python tags"
