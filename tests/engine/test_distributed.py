"""Two CPU processes with gloo, launched by `easytrain run --nproc-per-node 2`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import ROOT, easytrain, summary

# No batch norm, no dropout: then 2 processes × 32 and 1 × 64 take exactly the same steps.
RECIPE = """
name: ddp
seed: 1
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [64], dropout: 0.0}
train:
  epochs: 3
  batch_size: 64
  optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
  tensorboard: false
evaluate: {metrics: [accuracy]}
"""

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="POSIX signals")]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ddp") / "ddp.yaml"
    path.write_text(RECIPE)
    return path


def weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_processes_of_32_match_one_process_of_64(
    recipe: Path, tmp_path: Path, strategy: str
) -> None:
    one = easytrain("run", str(recipe), "--out", str(tmp_path / "one"))
    two = easytrain(
        "run",
        str(recipe),
        "--out",
        str(tmp_path / "two"),
        "--nproc-per-node",
        "2",
        "train.batch_size=32",
        f"train.strategy={strategy}",
    )
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    single, double = weights(tmp_path / "one"), weights(tmp_path / "two")
    for name in single:
        torch.testing.assert_close(double[name], single[name], rtol=1e-5, atol=1e-6)
    # evaluation runs once, on the whole splits: the same metrics as one process
    assert summary(tmp_path / "two")["metrics"]["test"]["accuracy"] == pytest.approx(
        summary(tmp_path / "one")["metrics"]["test"]["accuracy"]
    )
    assert "2 processes (global batch 64)" in two.stderr
    assert two.stderr.count("epoch 3/3") == 1  # one voice on the console


def test_two_processes_resume_after_a_kill(recipe: Path, tmp_path: Path) -> None:
    args = [
        "run",
        str(recipe),
        "--nproc-per-node",
        "2",
        "train.batch_size=32",
        "train.epochs=12",
        "train.checkpoint_every_steps=5",
    ]
    reference = easytrain(*args, "--out", str(tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "easytrain", *args, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    last = out / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the launcher and both workers at once
    process.wait()
    epoch = torch.load(last, weights_only=True)["state"]["epoch"]
    assert epoch < 12
    resumed = easytrain(*args, "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    for name, tensor in weights(tmp_path / "reference").items():
        assert torch.equal(weights(out)[name], tensor), name
    one = easytrain(
        "run",
        str(recipe),
        "--out",
        str(out),
        "--resume",
        "train.batch_size=32",
        "train.epochs=12",
        "train.checkpoint_every_steps=5",
    )
    assert one.returncode == 2 and "--nproc-per-node 2" in one.stderr  # same world size only


FAILING = """
import os
import torch
from torch import nn


class FailsOnRankOne(nn.Module):
    def __init__(self, input_shape, num_outputs):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, num_outputs))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if os.environ.get("RANK") == "1" and self.training and self.calls > 5:
            raise RuntimeError("boom on rank 1")
        return self.net(x)
"""


def test_one_failing_process_stops_them_all_quickly(recipe: Path, tmp_path: Path) -> None:
    (tmp_path / "failing.py").write_text(FAILING)
    started = time.monotonic()
    done = easytrain(
        "run",
        str(recipe),
        "--out",
        str(tmp_path / "run"),
        "--nproc-per-node",
        "2",
        "--allow-code",
        "model={type: 'failing:FailsOnRankOne'}",
        "train.batch_size=32",
        env={"PYTHONPATH": str(tmp_path), "EASYTRAIN_COLLECTIVE_TIMEOUT": "30"},
        timeout=180,
    )
    assert done.returncode != 0
    assert time.monotonic() - started < 120
    assert "boom on rank 1" in done.stderr and "training process 1 failed" in done.stderr
