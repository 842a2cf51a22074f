"""The `tune:` section: validated with the rest of the recipe, every problem at its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from easytrain.config.load import dump_recipe, load_recipe
from easytrain.errors import RecipeError, RunFailed
from tests.conftest import RECIPES, ROOT, cli

HEAD = """\
name: t
data: {source: builtin, name: iris, split: {val: 0.2, test: 0.2}}
model: {type: mlp, hidden: [8]}
train: {epochs: 3}
evaluate: {metrics: [accuracy]}
"""  # five lines: the tune: section starts on line 6


def errors(tmp_path: Path, tune: str) -> str:
    path = tmp_path / "recipe.yaml"
    path.write_text(HEAD + tune)
    with pytest.raises(RecipeError) as caught:
        load_recipe(path)
    return str(caught.value)


def test_the_shipped_tuning_recipe_validates() -> None:
    recipe = load_recipe(RECIPES / "iris-tune.yaml")
    assert recipe.tune is not None and recipe.tune.metric == "val_loss"
    assert recipe.tune.space["train.optimizer.lr"].loguniform == (1e-4, 1e-1)
    dumped = yaml.safe_load(dump_recipe(recipe))  # distributions dump as written
    assert dumped["tune"]["space"]["train.optimizer.lr"] == {"loguniform": [1e-4, 1e-1]}
    assert "easytrain tune recipes/iris-tune.yaml" in (RECIPES / "iris-tune.yaml").read_text()


def test_every_distribution_kind_and_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        HEAD
        + """\
tune:
  metric: val_loss
  timeout: 60
  trials: null
  space:
    train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}
    model.dropout: {uniform: [0.0, 0.5], step: 0.1}
    train.epochs: {int: [2, 10], step: 2}
    model.hidden: {choice: [[64], [128, 64]]}
    model.hidden.0: {int: [4, 8]}
"""
    )
    tune = load_recipe(path).tune
    assert tune is not None and tune.direction == "auto" and tune.sampler == "tpe"
    assert tune.space["train.epochs"].grid() == [2, 4, 6, 8, 10]
    assert tune.space["model.dropout"].grid() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert tune.space["model.hidden"].ends() == [[64], [128, 64]]


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        (
            "train.optimizer.lrr: {loguniform: [1.0e-4, 1.0e-1]}",
            "recipe.yaml:8:5 tune.space.train.optimizer.lrr: 'train.optimizer.lrr' is not a "
            "recipe key (did you mean 'train.optimizer.lr'?)",
        ),
        (
            "train.optimizer.lr: {loguniform: [0.1, 0.01]}",
            "recipe.yaml:8:5 tune.space.train.optimizer.lr: loguniform: low must be below high",
        ),
        (
            "train.optimizer.lr: {loguniform: [0.0, 0.1]}",
            "recipe.yaml:8:5 tune.space.train.optimizer.lr: loguniform: low must be above 0",
        ),
        (
            "model.dropout: {uniform: [0.3, 0.3]}",
            "recipe.yaml:8:5 tune.space.model.dropout: uniform: low must be below high",
        ),
        (
            "train.epochs: {int: [9, 3]}",
            "recipe.yaml:8:5 tune.space.train.epochs: int: low must be below high",
        ),
        ("model.hidden: {choice: []}", "recipe.yaml:8:5 tune.space.model.hidden: choice needs"),
        (
            "model.dropout: {uniform: [0.0, 0.5], choice: [0.1]}",
            "recipe.yaml:8:5 tune.space.model.dropout: a distribution is one of loguniform",
        ),
        (
            "model.dropout: {normal: [0.0, 0.5]}",
            "recipe.yaml:8:21 tune.space.model.dropout.normal: unknown key 'normal'",
        ),
        (
            "train.epochs: {int: [2, 9], step: 2}",
            "recipe.yaml:8:5 tune.space.train.epochs: int: high - low (7) must be a whole number",
        ),
        (
            "tune.trials: {int: [1, 5]}",
            "recipe.yaml:8:5 tune.space.tune.trials: tune: cannot search over its own settings",
        ),
        # a value the range allows that the recipe does not: found before anything trains
        (
            "train.epochs: {int: [0, 5]}",
            "recipe.yaml:8:5 train.epochs: must be greater than 0, got 0 (tune.space: train.epochs=0)",
        ),
        (
            "model.hidden: {choice: [[64], 64]}",
            "recipe.yaml:8:5 model.hidden: expected a list, got 64 (tune.space: model.hidden=64)",
        ),
        (
            "model.hidden.3: {int: [4, 8]}",
            "recipe.yaml:8:5 model.hidden.3: '3' is not an index of this list",
        ),
    ],
    ids=lambda value: value[:32].replace(" ", ""),
)
def test_space_problems_point_at_the_space_entry(tmp_path: Path, space: str, expected: str) -> None:
    message = errors(tmp_path, f"tune:\n  space:\n    {space}\n")
    assert expected in message, message


def test_metric_sampler_and_budget_problems(tmp_path: Path) -> None:
    message = errors(
        tmp_path,
        """\
tune:
  metric: val_acc
  sampler: grid
  trials: null
  space:
    train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}
""",
    )
    assert "recipe.yaml:7:3 tune.metric: 'val_acc' is not a logged value" in message
    assert "(did you mean 'val_accuracy'?)" in message
    assert (
        "recipe.yaml:11:5 tune.space.train.optimizer.lr: sampler grid lists every value" in message
    )

    message = errors(tmp_path, "tune:\n  trials: null\n  space: {seed: {int: [0, 3]}}\n")
    assert "recipe.yaml:6:1 tune: give tune.trials, tune.timeout or both" in message

    message = errors(tmp_path, "tune:\n  metric: val_f1_macro\n  space: {seed: {int: [0, 3]}}\n")
    assert "recipe.yaml:7:3 tune.metric: 'val_f1_macro' is not logged: add f1_macro" in message

    path = tmp_path / "noval.yaml"
    path.write_text(
        HEAD.replace("val: 0.2", "val: 0.0")
        + "tune:\n  metric: val_accuracy\n  space: {seed: {int: [0, 3]}}\n"
    )
    with pytest.raises(RecipeError, match="'val_accuracy' needs a validation split"):
        load_recipe(path)


def test_tune_without_a_tune_section_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("tune", str(RECIPES / "iris.yaml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "no tune: section to search over" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists(), "nothing is written for a usage error"


def test_validate_of_a_tuning_recipe_imports_neither_torch_nor_optuna() -> None:
    probe = (
        "import sys\nfrom easytrain.cli import app\n"
        f"try:\n    app(['validate', {str(RECIPES / 'iris-tune.yaml')!r}])\n"
        "except SystemExit:\n    pass\n"
        "print('HEAVY=' + ','.join(m for m in ('torch', 'optuna') if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "HEAVY=\n" in done.stderr, done.stderr


def test_missing_optuna_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from easytrain.tune.study import import_optuna

    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` now raises ImportError
    with pytest.raises(RunFailed, match=r"pip install 'easytrain\[tune\]'"):
        import_optuna()
