"""Nothing is lost: killed, interrupted and resumed runs end with the weights of a run that was
never interrupted, bit for bit (CPU, same seed)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from easytrain.errors import ExitCode
from tests.conftest import ROOT, cli, summary

# Dropout and a warmed-up cosine schedule: resuming must restore RNG and scheduler state too.
RECIPE = """
name: resume
seed: 3
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [128, 64], dropout: 0.2}
train:
  epochs: 8
  batch_size: 8
  optimizer: {name: adam, lr: 0.001}
  scheduler: {name: cosine, warmup_steps: 30}
  checkpoint_every_steps: 2
  tensorboard: false
evaluate: {metrics: [accuracy]}
"""


def start(recipe: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "easytrain", "run", str(recipe), "--out", str(out), *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 240) -> bool:
    """True once this process has written path (anew, if it existed); False if it ended first."""
    before = path.stat().st_mtime_ns if path.exists() else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime_ns != before:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    raise TimeoutError(f"{path} did not appear")


def weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "resume.yaml"
    path.write_text(RECIPE)
    return path


@pytest.fixture(scope="module")
def reference(recipe: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """The run never interrupted, in this process: nothing kills it, so it needs neither a
    process of its own nor the step checkpoints (a write every 2 steps: 3/4 of its time) that
    give the kills something to resume from."""
    out = tmp_path_factory.mktemp("reference") / "run"
    done = cli("run", str(recipe), "--out", str(out), "~train.checkpoint_every_steps")
    assert done.returncode == 0, done.stderr
    return weights(out)


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume_is_bit_exact(
    recipe: Path, reference: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    out, last = tmp_path / "run", tmp_path / "run" / "checkpoints" / "last.pt"
    rng = random.Random(0)
    process: subprocess.Popen[str] | None = start(recipe, out)
    kills, positions = 0, []
    while process is not None and wait_for(last, process):
        time.sleep(rng.uniform(0.0, 0.6))  # somewhere in the run: mid-epoch, mid-write …
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        state = torch.load(last, weights_only=True)["state"]  # the newest checkpoint always loads
        positions.append((state["epoch"], state["batch"]))
        process = start(recipe, out, "--resume") if kills < 3 else None
    if process is None:  # killed three times: the last resume, never killed, runs in this process
        resumed = cli("run", str(recipe), "--out", str(out), "--resume")
        assert resumed.returncode == 0, resumed.stderr
    else:
        assert process.wait(timeout=120) == 0, process.stderr.read()
    assert kills >= 2, f"the run ended before it could be killed twice ({positions})"
    assert any(batch != 0 for _, batch in positions), f"no kill landed mid-epoch: {positions}"
    assert_same_weights(weights(out), reference)
    assert summary(out)["epochs_completed"] == 8


@pytest.mark.slow
def test_ctrl_c_saves_exits_130_and_resumes_exactly(
    recipe: Path, reference: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    process = start(recipe, out)
    assert wait_for(out / "checkpoints" / "last.pt", process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == ExitCode.INTERRUPTED
    message = process.stderr.read()
    assert "--resume" in message and "Traceback" not in message
    assert summary(out)["status"] == "interrupted"
    resumed = cli("run", str(recipe), "--out", str(out), "--resume")  # only the kill needs one
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stderr
    assert_same_weights(weights(out), reference)


# The iris runs below check what --resume accepts and where it continues; the run's plots,
# TensorBoard file and export (0.5-1 s each run, a tenth of that without) are left out.
IRIS = (str(ROOT / "recipes" / "iris.yaml"), "~evaluate.gates", "evaluate.plots=false")
IRIS += ("train.tensorboard=false", "~export")


def test_resume_refuses_a_recipe_that_would_not_continue_exactly(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = cli("run", *IRIS, "--out", str(out), "train.epochs=2")
    assert first.returncode == 0, first.stderr
    changed = cli(
        "run",
        *IRIS,
        "--out",
        str(out),
        "--resume",
        "train.epochs=2",
        "train.batch_size=32",
        "model.hidden=[8]",
    )
    assert changed.returncode == ExitCode.BAD_RECIPE
    assert "train.batch_size: 16 → 32" in changed.stderr
    assert "model.hidden: [32, 32] → [8]" in changed.stderr
    longer = cli("run", *IRIS, "--out", str(out), "--resume", "train.epochs=4")
    assert longer.returncode == 0, longer.stderr  # more epochs is a safe change
    assert summary(out)["epochs_completed"] == 4


def test_resume_with_nothing_to_resume_is_an_error(tmp_path: Path) -> None:
    iris = str(ROOT / "recipes" / "iris.yaml")
    empty = cli("run", iris, "--out", str(tmp_path / "new"), "--resume")
    assert empty.returncode == ExitCode.BAD_RECIPE and "nothing to resume" in empty.stderr
    assert not (tmp_path / "new" / "summary.json").exists()  # no silent fresh start
    none = cli("run", iris, "--resume", cwd=tmp_path)
    assert none.returncode == ExitCode.BAD_RECIPE and "no run of 'iris'" in none.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("summary.json"))


def test_resume_without_out_continues_the_latest_run(tmp_path: Path) -> None:
    first = cli("run", *IRIS, "train.epochs=1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = cli("run", *IRIS, "train.epochs=2", "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    (run,) = (tmp_path / "runs" / "iris").iterdir()
    assert summary(run)["epochs_completed"] == 2


if os.name != "posix":  # signals as used here are POSIX
    pytestmark = pytest.mark.skip(reason="POSIX signals")
