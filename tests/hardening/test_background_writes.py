"""Checkpoints are written on a background thread: a write that fails there still fails the run
with the file named, and the process never exits before the last write has landed (on success,
on Ctrl-C) even when writing is slow."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import ROOT, summary
from tests.hardening.runfolder import leftovers, unreadable
from tests.hardening.tally import record

# Every fsync of the process takes 0.3 s longer: a checkpoint (file and folder) 0.6 s.
SLOW_WRITES = """
import os, sys, time
real = os.fsync
os.fsync = lambda fd: (time.sleep(0.3), real(fd))[1]
sys.argv = ["easytrain", *sys.argv[1:]]
from easytrain.cli import main
main()
"""

SMALL = """
name: slow-disk
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [64]}
train: {epochs: 3, batch_size: 64, tensorboard: false}
evaluate: {plots: false}
"""

BIG = """
name: too-big
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [1024, 1024]}
train: {epochs: 2, tensorboard: false}
evaluate: {plots: false}
"""


def _run(recipe: Path, out: Path, prelude: str | None = None, limit: int | None = None):
    command = [sys.executable, "-c", prelude] if prelude else [sys.executable, "-m", "easytrain"]

    def cap_file_size() -> None:  # Python ignores SIGXFSZ: a bigger write fails with EFBIG
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.Popen(
        [*command, "run", str(recipe), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=cap_file_size,
    )


@pytest.mark.slow
def test_a_checkpoint_that_cannot_be_written_fails_the_run_with_the_file_named(
    tmp_path: Path,
) -> None:
    """Files of at most 4 MB: the run folder's small files fit, a 9 MB checkpoint does not."""
    recipe = tmp_path / "big.yaml"
    recipe.write_text(BIG)
    out = tmp_path / "run"
    process = _run(recipe, out, limit=4_000_000)
    stderr = process.communicate(timeout=300)[1]
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    error = next(line for line in stderr.splitlines() if line.startswith("error: "))
    assert re.search(r"cannot write \S+/checkpoints/(best|last)\.pt: File too large", error), error
    assert summary(out)["status"] == "failed" and "cannot write" in summary(out)["error"]
    assert not (out / "checkpoints" / "last.pt").exists()
    assert not leftovers(out)
    record("a background checkpoint write fails", "exit 1, the file named")


@pytest.mark.slow
def test_the_process_exits_only_after_the_last_checkpoint_has_landed(tmp_path: Path) -> None:
    recipe = tmp_path / "small.yaml"
    recipe.write_text(SMALL)
    out = tmp_path / "run"
    process = _run(recipe, out, SLOW_WRITES)
    stderr = process.communicate(timeout=300)[1]
    assert process.returncode == 0, stderr
    # right after the exit: the last epoch's checkpoint, whole, and the best one it points at
    last = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    best = torch.load(out / "checkpoints" / "best.pt", weights_only=True)
    assert last["state"]["epoch"] == 3 and last["state"]["batch"] == 0
    assert best["epoch"] == last["state"]["best_epoch"]
    assert not leftovers(out) and not unreadable(out)
    record("slow disk: exit after the last write", "last.pt complete at exit")


@pytest.mark.slow
def test_ctrl_c_exits_only_after_its_checkpoint_has_landed(tmp_path: Path) -> None:
    recipe = tmp_path / "small.yaml"
    recipe.write_text(SMALL.replace("epochs: 3", "epochs: 50"))
    out = tmp_path / "run"
    process = _run(recipe, out, SLOW_WRITES)
    deadline = time.monotonic() + 240
    while not (out / "checkpoints" / "last.pt").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 130, stderr
    where = re.search(r"interrupted in epoch (\d+) at batch (\d+)/", stderr)
    assert where, stderr
    last = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    epoch, batch = int(where[1]), int(where[2])
    assert (last["state"]["epoch"], last["state"]["batch"]) == (epoch - 1, batch)
    assert not leftovers(out)
    record("slow disk: Ctrl-C", "its checkpoint complete at exit")
