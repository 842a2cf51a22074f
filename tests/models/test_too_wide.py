"""A layer too wide to allocate is refused before allocating, with the size it would take (it
was a traceback from torch's allocator)."""

from __future__ import annotations

from pathlib import Path

from easytrain.errors import ExitCode
from tests.conftest import cli


def test_a_layer_too_wide_for_memory_is_refused_with_the_estimate(tmp_path: Path) -> None:
    recipe = tmp_path / "wide.yaml"
    recipe.write_text(
        "data: {name: iris}\nmodel: {type: mlp, hidden: [100000000000]}\n"
        "train: {epochs: 1, tensorboard: false}\n"
    )
    done = cli("run", str(recipe), "--out", str(tmp_path / "run"))
    assert done.returncode == ExitCode.BAD_RECIPE, done.stderr
    assert "error: model: 800,000,000,003 parameters take 3,200.0 GB" in done.stderr
    assert "layer 1 Linear(in_features=4, out_features=100000000000" in done.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_model_that_fits_is_built_as_before(tmp_path: Path) -> None:
    recipe = tmp_path / "small.yaml"
    recipe.write_text(
        "data: {name: iris}\nmodel: {type: mlp, hidden: [16]}\n"
        "train: {epochs: 1, tensorboard: false}\nevaluate: {plots: false}\n"
    )
    assert cli("run", str(recipe), "--out", str(tmp_path / "run")).returncode == 0
