"""What a user sees after Ctrl-C or a kill: the epochs done, the command that continues, and a
folder that `--resume` can always use, even when the kill came before the first checkpoint."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from easytrain.errors import ExitCode
from tests.conftest import cli, summary
from tests.engine.test_resume import start, wait_for

RECIPE = """
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [32]}
train: {epochs: %d, batch_size: 16, tensorboard: false}
evaluate: {metrics: [accuracy], plots: false}
"""


def _recipe(tmp_path: Path, epochs: int) -> Path:
    path = tmp_path / "interrupted.yaml"
    path.write_text(RECIPE % epochs)
    return path


def _rows(out: Path) -> int:
    csv = out / "metrics.csv"
    return len(csv.read_text().splitlines()) - 1 if csv.exists() else 0


@pytest.mark.slow
def test_ctrl_c_after_epochs_counts_them_and_names_the_recipe_to_resume(tmp_path: Path) -> None:
    recipe, out = _recipe(tmp_path, 400), tmp_path / "run"
    process = start(recipe, out)
    deadline = time.monotonic() + 120
    while _rows(out) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == ExitCode.INTERRUPTED
    message = process.stderr.read()
    done = summary(out)
    assert done["status"] == "interrupted"
    assert done["epochs_completed"] == _rows(out) >= 2
    assert f"continue with: easytrain run {recipe} --resume --out {out}" in message, message


@pytest.mark.slow
def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_from_scratch(
    tmp_path: Path,
) -> None:
    recipe, out = _recipe(tmp_path, 2), tmp_path / "run"
    process = start(recipe, out)
    assert wait_for(out / "recipe.yaml", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "checkpoints" / "last.pt").exists()
    resumed = cli("run", str(recipe), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "nothing was trained" in resumed.stderr and "from scratch" in resumed.stderr
    assert summary(out)["status"] == "succeeded"
    assert summary(out)["epochs_completed"] == 2


def test_out_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    recipe, out = _recipe(tmp_path, 1), tmp_path / "taken.txt"
    out.write_text("mine")
    done = cli("run", str(recipe), "--out", str(out))
    assert done.returncode == ExitCode.BAD_RECIPE, done.stderr
    assert "Traceback" not in done.stderr
    assert f"--out {out} is a file" in done.stderr
    assert out.read_text() == "mine"
