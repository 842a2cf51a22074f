"""Faults: runs killed (SIGKILL) at random points and in the middle of checkpoint and export writes
always resume, and no file of the run folder is ever half-written; a disk that fills up during a
checkpoint fails the run clearly and leaves the previous checkpoint loadable; two runs started at
the same moment never share a folder.

EASYTRAIN_KILL_RUNS=N kills N runs (default 1), three times each: the first mid-write (a checkpoint,
a plot, an export), the others at random moments.
"""

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

from tests.conftest import ROOT, cli, summary
from tests.hardening.runfolder import leftovers, unreadable
from tests.hardening.tally import record

KILL_RUNS = int(os.environ.get("EASYTRAIN_KILL_RUNS", "1"))

# Many writes: a checkpoint every 3 steps, TensorBoard, plots and two export formats.
RECIPE = """
name: faults
seed: {seed}
data: {{source: builtin, name: digits}}
model: {{type: mlp, hidden: [128, 128]}}
train: {{epochs: 2, batch_size: 64, checkpoint_every_steps: 3}}
evaluate: {{metrics: [accuracy]}}
export: {{formats: [pt2, state_dict]}}
"""


def start(recipe: Path, out: Path, resume: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "easytrain", "run", str(recipe), "--out", str(out)]
        + (["--resume"] if resume else []),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def _writing(folder: Path) -> bool:
    """A write is under way in folder: a hidden temp file (atomic writes), or for plots/ the
    first file appearing (a plot written in place would be caught half-done)."""
    try:
        names = [e.name for e in os.scandir(folder)]
    except FileNotFoundError:
        return False
    return any(n.startswith(".") and n.endswith(".tmp") or folder.name == "plots" for n in names)


def kill(process: subprocess.Popen[str], out: Path, where: str, rng: random.Random) -> bool:
    """SIGKILL the run mid-write in `where` (checkpoints/, plots/, export/) or at a random moment
    once it has a checkpoint. False when the run ended first."""
    last = out / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 240
    while not last.exists():  # the first checkpoint: before it there is nothing to resume
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    if where == "random":
        time.sleep(rng.uniform(0, 2.0))
    else:
        while not _writing(out / where):
            if process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.0005)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(KILL_RUNS))
def test_killed_runs_resume_and_leave_no_half_written_file(seed: int, tmp_path: Path) -> None:
    recipe = tmp_path / "faults.yaml"
    recipe.write_text(RECIPE.format(seed=seed))
    out, rng = tmp_path / "run", random.Random(seed)
    process = start(recipe, out, resume=False)
    # the first run is killed mid-write at three places; further runs at random moments
    places = ("checkpoints", "plots", "export") if seed == 0 else ("random",) * 3
    for n, where in enumerate(places, 1):
        if not kill(process, out, where, rng):
            assert process.wait(timeout=240) == 0, process.stderr.read()  # type: ignore[union-attr]
            break
        assert not unreadable(out), unreadable(out)
        record(f"SIGKILL: {where}", "resumed")
        if n < len(places):
            process = start(recipe, out, resume=True)
    else:  # killed at every place: the last resume, never killed, runs in this process
        resumed = cli("run", str(recipe), "--out", str(out), "--resume")
        assert resumed.returncode == 0, resumed.stderr
    assert summary(out)["status"] == "succeeded"
    assert not unreadable(out), unreadable(out)
    assert not leftovers(out), "resume cleans up the writes that kills cut short"
    assert torch.export.load(out / "export" / "model.pt2") is not None


def _mount_small_fs(where: Path, megabytes: int) -> str | None:
    """A size-limited file system at `where`: tmpfs, else a loop-mounted ext4 image. The reason
    for skipping when neither can be mounted here (not root, no mount in the container …)."""
    where.mkdir()
    tried = []
    for command in (
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(where)],
        [
            "sh",
            "-c",
            f"truncate -s {megabytes}M {where}.img && mkfs.ext4 -q -F {where}.img "
            f"&& mount -o loop {where}.img {where}",
        ],
    ):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode == 0:
            return None
        tried.append(f"{command[0]} {command[1]}…: {done.stderr.strip()[:120]}")
    return "cannot mount a small file system here: " + "; ".join(tried)


@pytest.fixture
def small_disk(tmp_path: Path):
    where = tmp_path / "disk"
    reason = _mount_small_fs(where, 8)
    if reason:
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


BIG_CHECKPOINTS = """
name: disk-full
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [512, 512]}
train: {epochs: 3, checkpoint_every_steps: 5, tensorboard: false}
evaluate: {plots: false}
"""


@pytest.mark.slow
def test_a_full_disk_fails_the_run_clearly_and_keeps_the_previous_checkpoint(
    small_disk: Path, tmp_path: Path
) -> None:
    """8 MB: room for last.pt (3.6 MB with Adam's state) and best.pt, not for the next last.pt."""
    recipe = tmp_path / "big.yaml"
    recipe.write_text(BIG_CHECKPOINTS)
    out = small_disk / "run"
    result = cli("run", str(recipe), "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    error = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    assert "No space left on device" in error and "untouched" in error, error
    written = Path(error.split("cannot write ", 1)[1].split(":", 1)[0])
    assert written.parent == out / "checkpoints", error
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert state["state"]["step"] > 0
    assert not leftovers(out)
    record("disk full during a checkpoint", "exit 1, previous checkpoint loads")


AT_ONCE = """
import sys, time
from pathlib import Path
from easytrain.pipeline.folders import new_run_dir
start = float(sys.argv[1])
while time.time() < start:
    pass
print(new_run_dir("same", None))
"""


def test_runs_started_at_the_same_moment_get_folders_of_their_own(tmp_path: Path) -> None:
    """Eight processes ask for a run folder in the same millisecond (no torch: 0.1 s each)."""
    start = time.time() + 1.5
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", AT_ONCE, str(start)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(8)
    ]
    folders = [p.communicate(timeout=60)[0].strip() for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert len(set(folders)) == 8, folders
    assert all((tmp_path / f).is_dir() and not any((tmp_path / f).iterdir()) for f in folders)
    record("8 runs asking for a folder at the same moment", "8 different folders")


TINY = """
name: twins
data: {source: builtin, name: iris}
train: {epochs: 1, tensorboard: false}
evaluate: {plots: false}
"""


@pytest.mark.slow
def test_two_runs_of_one_recipe_started_together_both_finish_apart(tmp_path: Path) -> None:
    recipe = tmp_path / "twins.yaml"
    recipe.write_text(TINY)
    command = [sys.executable, "-m", "easytrain", "run", str(recipe), "--json"]
    runs = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=240) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err.decode()[-500:] for _, err in outputs]
    folders = sorted((tmp_path / "runs" / "twins").iterdir())
    assert len(folders) == 2, folders
    for folder in folders:
        assert summary(folder)["status"] == "succeeded" and not unreadable(folder)
        saved = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)
        assert saved["state"]["epoch"] == 1
    record("2 runs of one recipe started together", "2 folders, both complete")
