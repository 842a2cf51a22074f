"""The Python API is the command's engine: same recipe, same summary, same weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import easytrain
from easytrain.errors import GateFailed, RecipeError
from tests.conftest import RECIPES, ROOT, cli, summary

FAST = {"train.epochs": 6, "~export": None}


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["model"]


def _without_timings(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("timings",)}


@pytest.mark.slow
def test_api_run_equals_the_cli_run(tmp_path: Path) -> None:
    by_api = easytrain.run(RECIPES / "iris.yaml", FAST, out=tmp_path / "api", quiet=True)
    by_cli = cli(
        "run",
        str(RECIPES / "iris.yaml"),
        "train.epochs=6",
        "~export",
        "--out",
        str(tmp_path / "cli"),
    )
    assert by_cli.returncode == 0, by_cli.stderr
    assert by_api.status == "succeeded"
    assert _without_timings(by_api.summary) == _without_timings(summary(tmp_path / "cli"))
    api_weights, cli_weights = _weights(tmp_path / "api"), _weights(tmp_path / "cli")
    assert api_weights.keys() == cli_weights.keys()
    assert all(torch.equal(api_weights[k], cli_weights[k]) for k in api_weights)
    assert [row["epoch"] for row in by_api.history] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


@pytest.mark.slow
def test_a_dict_recipe_runs_and_its_run_predicts_rows(tmp_path: Path) -> None:
    recipe = yaml.safe_load((RECIPES / "iris.yaml").read_text())
    result = easytrain.run(recipe, FAST, out=tmp_path / "run", quiet=True)
    assert result.run_dir == tmp_path / "run"
    rows = [
        {
            "sepal length (cm)": 5.1,
            "sepal width (cm)": 3.5,
            "petal length (cm)": 1.4,
            "petal width (cm)": 0.2,
        },
        {
            "sepal length (cm)": 6.7,
            "sepal width (cm)": 3.0,
            "petal length (cm)": 5.2,
            "petal width (cm)": 2.3,
        },
    ]
    answers = easytrain.load_run(tmp_path / "run").predict(rows)
    assert [a["class"] for a in answers] == ["setosa", "virginica"]
    assert all(abs(sum(a["probabilities"].values()) - 1) < 1e-5 for a in answers)
    assert result.predict(rows[0])[0]["class"] == "setosa"


def test_validate_fills_defaults_and_load_recipe_raises_positioned_errors(tmp_path: Path) -> None:
    resolved = easytrain.validate(RECIPES / "iris.yaml", {"train.epochs": 3})
    assert resolved["train"]["epochs"] == 3 and resolved["train"]["batch_size"] == 16
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {source: builtin, name: iris}\ntrain:\n  epocs: 3\n")
    with pytest.raises(RecipeError, match=r"bad.yaml:3:3.*did you mean 'epochs'"):
        easytrain.load_recipe(bad)
    with pytest.raises(RecipeError, match="epocs"):
        easytrain.load_recipe(
            {"data": {"source": "builtin", "name": "iris"}, "train": {"epocs": 3}}
        )


@pytest.mark.slow
def test_a_missed_gate_raises_gate_failed_with_the_finished_run(tmp_path: Path) -> None:
    overrides = FAST | {"train.epochs": 1, "evaluate.gates": {"accuracy": 1.01}}
    with pytest.raises(GateFailed) as failed:
        easytrain.run(RECIPES / "iris.yaml", overrides, out=tmp_path / "run", quiet=True)
    assert failed.value.run_dir == tmp_path / "run"
    assert easytrain.load_run(failed.value.run_dir).status == "gate_failed"


def test_import_easytrain_stays_light() -> None:
    code = "import sys, easytrain; easytrain.load_recipe; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.slow
def test_the_example_notebook_runs_and_shows_its_answers(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    (tmp_path / "recipes").symlink_to(RECIPES)  # as from the repository root; runs/ lands here
    notebook = nbformat.read(ROOT / "examples" / "python-api.ipynb", as_version=4)
    NotebookClient(notebook, timeout=240, resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [
        output["data"]["text/plain"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "data" in output
    ]
    assert shown[0].startswith("('succeeded',")
    assert "'class': 'virginica'" in shown[2]
    assert shown[3] == "True"
