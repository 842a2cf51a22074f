"""train.class_weights: auto shows the weights it computed and keeps them in summary.json; on a
regression target (known only once the table is read) it is refused, not ignored."""

from __future__ import annotations

from pathlib import Path

from easytrain.errors import ExitCode
from tests.conftest import easytrain, summary

QUIET = ("train.epochs=1", "train.tensorboard=false", "evaluate.plots=false")


def test_auto_class_weights_are_shown_and_saved(tmp_path: Path) -> None:
    recipe = tmp_path / "weighted.yaml"
    recipe.write_text("data: {name: iris}\ntrain: {class_weights: auto}\n")
    done = easytrain("run", str(recipe), "--out", str(tmp_path / "run"), *QUIET)
    assert done.returncode == 0, done.stderr
    weights = summary(tmp_path / "run")["class_weights"]
    assert list(weights) == ["setosa", "versicolor", "virginica"]
    assert all(0.5 < w < 2.0 for w in weights.values())
    shown = ", ".join(f"{name} {w:g}" for name, w in weights.items())
    assert f"class weights (auto): {shown}" in done.stderr


def test_class_weights_on_a_regression_table_are_refused(tmp_path: Path) -> None:
    table = tmp_path / "prices.csv"
    table.write_text("x,y\n" + "".join(f"{i},{i * 0.37:.2f}\n" for i in range(60)))
    recipe = tmp_path / "regress.yaml"
    recipe.write_text(
        f"data: {{source: table, path: {table}, target: y}}\ntrain: {{class_weights: auto}}\n"
    )
    done = easytrain("run", str(recipe), "--out", str(tmp_path / "run"), *QUIET)
    assert done.returncode == ExitCode.BAD_RECIPE, done.stderr
    assert "train.class_weights: class weights are for classification" in done.stderr
    assert "Traceback" not in done.stderr
