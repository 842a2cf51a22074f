"""Every recipe a docs page shows is valid.

A ```yaml block with a top-level `data:` or `name:` is a whole recipe and is validated as it is
(absent data paths get empty stand-ins, as in tests/config/test_shipped_recipes.py); any other
yaml block is a section, validated merged into one of a few base recipes. A recipe a page quotes
from recipes/ matches the file. Python, JSON and TOML examples parse.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from easytrain.config.load import load_recipe
from easytrain.errors import RecipeError
from tests.config.test_shipped_recipes import stand_ins
from tests.conftest import ROOT
from tests.docs_pages import PAGES, code_blocks

YAML_BLOCKS = code_blocks("yaml")
BASES = {  # what a section is merged into: data of each kind the sections need
    "digits": {"data": {"source": "builtin", "name": "digits"}},
    "table": {"data": {"source": "table", "path": "data/houses.csv", "target": "price"}},
    "table, categories as indices": {
        "data": {"source": "table", "path": "data/titanic.csv", "target": "Survived",
                 "categorical": "index"}
    },
    "text": {"data": {"source": "text", "path": "data/reviews.csv", "text": "review",
                      "target": "sentiment"}},
    "image folder": {
        "data": {"source": "image_folder", "path": "data/pets", "channels": 3, "image_size": 64}
    },
}  # fmt: skip


def validate(recipe: dict, tmp_path: Path, allow_code: bool = False) -> object:
    """load_recipe on the recipe written to a file, with stand-ins for absent data and baselines."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    overrides = stand_ins(path, tmp_path)
    baseline = (recipe.get("evaluate") or {}).get("baseline")
    if baseline and not (ROOT / baseline).exists():
        metrics = {name: 0.5 for name in recipe["evaluate"].get("max_drop", {})}
        summary = tmp_path / "baseline" / "summary.json"
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps({"metrics": {"val": metrics, "test": metrics}}))
        overrides.append(f"evaluate.baseline={summary}")
    return load_recipe(path, overrides, allow_code=allow_code)


@pytest.mark.filterwarnings("ignore:.*validated with an empty stand-in")
@pytest.mark.parametrize("where, body", YAML_BLOCKS, ids=[where for where, _ in YAML_BLOCKS])
def test_yaml_example_is_a_valid_recipe(
    where: str, body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # examples name data paths relative to the project folder
    example = yaml.safe_load(body)
    assert isinstance(example, dict) and example, f"{where}: not a recipe or a section of one"
    custom = ":" in str((example.get("model") or {}).get("type", ""))
    if custom:  # a module by import path: refused without --allow-code, as the page says
        with pytest.raises(RecipeError, match="allow-code"):
            validate({**BASES["digits"], **example}, tmp_path / "refused")
        return
    if {"data", "name"} & example.keys():
        validate(example, tmp_path)
        return
    problems = []
    for base_name, base in BASES.items():
        try:
            validate({**base, **example}, tmp_path / re.sub(r"\W+", "-", base_name))
            return
        except RecipeError as exc:
            problems.append(f"with {base_name} data: {exc}")
    pytest.fail(f"{where}: the section is valid with no base recipe:\n" + "\n".join(problems))


QUOTED = re.compile(
    r"(this is|From) `(recipes/[\w.-]+\.yaml)`(?:(?!\n\n).)*?\n\n```yaml\n(.*?)\n```", re.S
)


def contained(shown: object, real: object) -> bool:
    """Whether what a page shows of a recipe is in it: mappings may leave keys out."""
    if isinstance(shown, dict) and isinstance(real, dict):
        return all(key in real and contained(value, real[key]) for key, value in shown.items())
    return shown == real


def test_quoted_recipes_match_the_shipped_files() -> None:
    quoted = [match for page in PAGES for match in QUOTED.findall(page.read_text(encoding="utf-8"))]
    assert any(kind == "this is" for kind, _, _ in quoted)
    for kind, recipe, body in quoted:
        shown, real = yaml.safe_load(body), yaml.safe_load((ROOT / recipe).read_text())
        assert shown == real if kind == "this is" else contained(shown, real), recipe


def test_yaml_examples_are_found() -> None:
    assert len(YAML_BLOCKS) >= 15
    assert any("name: digits" in body for _, body in YAML_BLOCKS)


SYNTAX = {"python": ast.parse, "json": json.loads, "toml": tomllib.loads}
OTHER_BLOCKS = [(lang, *block) for lang in SYNTAX for block in code_blocks(lang)]


@pytest.mark.parametrize("lang, where, body", OTHER_BLOCKS, ids=[w for _, w, _ in OTHER_BLOCKS])
def test_python_json_and_toml_examples_parse(lang: str, where: str, body: str) -> None:
    SYNTAX[lang](body)
