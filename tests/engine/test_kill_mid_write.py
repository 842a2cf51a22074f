"""A SIGKILL in the middle of a checkpoint write leaves the previous checkpoint loadable, and
--resume cleans up the write it cut short. (Apart from tests/engine/test_resume.py: each file
is a minute of kills on a busy machine, and the two test processes take a file each.)"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import cli
from tests.engine.test_resume import start, wait_for

BIG = """
name: big
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [1024, 1024], dropout: 0.0}
train:
  epochs: 30
  batch_size: 64
  checkpoint_every_steps: 1
  tensorboard: false
"""


@pytest.mark.slow
def test_a_kill_during_a_checkpoint_write_leaves_the_previous_one_loadable(tmp_path: Path) -> None:
    recipe = tmp_path / "big.yaml"
    recipe.write_text(BIG)  # a 13 MB checkpoint after every step: most of the time is spent writing
    out = tmp_path / "run"
    folder = out / "checkpoints"
    rng, caught = random.Random(1), False
    for _ in range(20):
        process = start(recipe, out, *(["--resume"] if (folder / "last.pt").exists() else []))
        if not wait_for(folder / "last.pt", process):
            break
        time.sleep(rng.uniform(0.05, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait()
        caught = any(folder.glob(".last.pt.*.tmp"))  # the kill cut a write short
        saved = torch.load(folder / "last.pt", weights_only=True)
        assert all(torch.isfinite(t).all() for t in saved["model"].values())
        if caught:
            break
    assert caught, "no kill landed during a checkpoint write"
    resumed = cli("run", str(recipe), "--out", str(out), "--resume", "train.epochs=1")
    assert resumed.returncode == 0, resumed.stderr
    assert not list(folder.glob(".*.tmp"))


if os.name != "posix":  # signals as used here are POSIX
    pytestmark = pytest.mark.skip(reason="POSIX signals")
