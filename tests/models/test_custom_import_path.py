"""Under --allow-code, a model module beside the recipe imports without PYTHONPATH=.: the
recipe's folder is on the import path (after the installed packages, so it shadows none)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import easytrain
from tests.models.test_zoo import CUSTOM

RECIPE = """
data: {name: digits}
model: {type: beside_recipe:TinyNet, args: {width: 8}}
train: {epochs: 1, tensorboard: false}
evaluate: {plots: false}
"""


@pytest.mark.slow
def test_a_module_beside_the_recipe_imports_under_allow_code(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "beside_recipe.py").write_text(CUSTOM)
    (project / "recipe.yaml").write_text(RECIPE)
    env = {"PYTHONPATH": os.pathsep.join(p for p in [os.environ.get("PYTHONPATH")] if p)}
    for command in ("validate", "run"):
        extra = ["--out", str(tmp_path / "run")] if command == "run" else []
        done = easytrain(
            command, str(project / "recipe.yaml"), "--allow-code", *extra, cwd=elsewhere, env=env
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()
