"""Every shipped recipe validates, and its resolved dump validates again to the same recipe.

Validation checks that data paths exist. Recipes whose data a user brings (data/cats-vs-dogs/train,
the model folders of pretrained models …) are validated with an empty stand-in at that path instead, and the
test says so with a warning; tests/e2e/test_data_sources.py runs them on real data.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from easytrain.config.load import dump_recipe, load_recipe

ROOT = Path(__file__).parents[2]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
FOLDER_SOURCES = {"image_folder"}  # sources whose paths are folders, not files


def stand_ins(path: Path, tmp_path: Path) -> list[str]:
    """Overrides that point absent data paths at empty stand-ins of the same kind."""
    data = yaml.safe_load(path.read_text()).get("data", {})
    overrides = []
    for key in ("path", "val", "test"):
        given = data.get(key)
        if not given or (ROOT / given).exists():
            continue
        stand_in = tmp_path / "stand-in" / key / Path(given).name
        if data.get("source") in FOLDER_SOURCES:
            stand_in.mkdir(parents=True)
        else:
            stand_in.parent.mkdir(parents=True)
            stand_in.touch()
        warnings.warn(
            f"{path.name}: data.{key} {given} is absent here; validated with an empty stand-in",
            UserWarning,
            stacklevel=2,
        )
        overrides.append(f"data.{key}={stand_in}")
    return overrides


def test_recipes_are_found():
    assert {"digits", "iris", "cats-vs-dogs", "mnist"} <= {path.stem for path in RECIPES}


@pytest.mark.parametrize("path", RECIPES, ids=[path.stem for path in RECIPES])
def test_shipped_recipe_round_trips(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)  # recipes name data paths relative to the project folder
    recipe = load_recipe(path, stand_ins(path, tmp_path))
    assert recipe.name == yaml.safe_load(path.read_text()).get("name", path.stem)

    dumped = dump_recipe(recipe)
    copy = tmp_path / "other-name.yaml"  # the dump carries its name; the file name must not matter
    copy.write_text(dumped, encoding="utf-8")
    again = load_recipe(copy)

    assert again == recipe
    assert again.name == recipe.name
    assert dump_recipe(again) == dumped, "the dump is a fixed point"
    assert "!!" not in dumped, "plain YAML, no Python tags"
