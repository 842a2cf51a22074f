"""`easytrain evaluate --split S` scores and gates S alone: a test gate does not fail a val check."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import cli


def test_evaluate_split_val_scores_and_gates_only_val(binary_run: Path) -> None:
    recipe = binary_run / "recipe.yaml"
    saved = recipe.read_text()
    assert "accuracy: 0.5" in saved  # a test gate (gate_split: test)
    try:
        recipe.write_text(saved.replace("accuracy: 0.5", "accuracy: 0.9999"))  # test would fail
        done = cli("evaluate", str(binary_run), "--split", "val", "--json")
    finally:
        recipe.write_text(saved)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result["metrics"]) == ["val"]
    assert result["gates"] == []
    assert "test:" not in done.stderr


def test_evaluate_split_val_checks_the_gates_of_val(binary_run: Path) -> None:
    recipe = binary_run / "recipe.yaml"
    saved = recipe.read_text()
    try:
        recipe.write_text(saved.replace("gate_split: test", "gate_split: val"))
        done = cli("evaluate", str(binary_run), "--split", "val", "--json")
    finally:
        recipe.write_text(saved)
    assert done.returncode == 0, done.stderr
    gates = json.loads(done.stdout)["gates"]
    assert [(g["metric"], g["split"]) for g in gates] == [("accuracy", "val")]
