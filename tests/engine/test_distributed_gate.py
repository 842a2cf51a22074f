"""Under --nproc-per-node, a missed gate reads as the gate failure it is (exit 3): the gate
table and its error, not the launcher's log of a failed child nor 'training process 0 failed'."""

from __future__ import annotations

from pathlib import Path

import pytest

from easytrain.errors import ExitCode
from tests.conftest import easytrain

RECIPE = """
data: {name: iris}
train: {epochs: 1, tensorboard: false}
evaluate: {plots: false, gates: {accuracy: 0.9999}}
"""


@pytest.mark.slow
def test_a_missed_gate_with_two_processes_is_reported_as_a_gate_failure(tmp_path: Path) -> None:
    recipe = tmp_path / "gate.yaml"
    recipe.write_text(RECIPE)
    done = easytrain(
        "run",
        str(recipe),
        "--out",
        str(tmp_path / "run"),
        "--nproc-per-node",
        "2",
        env={"OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == ExitCode.GATE_FAILED, done.stderr
    assert "error: quality gate failed: test accuracy" in done.stderr
    for noise in ("Traceback", "training process", "failed (exitcode", "ChildFailedError"):
        assert noise not in done.stderr, done.stderr
