"""Checkpoints made durable in the background: in order, exactly what was saved, and a failure is
never lost."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import torch

from easytrain.engine import checkpoint
from easytrain.engine.writer import BackgroundWriter, background_writes
from easytrain.errors import RunFailed


def test_a_checkpoint_holds_the_state_at_save_time_not_at_write_time(tmp_path: Path) -> None:
    weights = torch.zeros(1000)
    optimizer_state = {"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 0.1}]}
    with background_writes():
        checkpoint.save({"model": {"w": weights}, "optimizer": optimizer_state}, tmp_path / "a.pt")
        weights += 1  # the next steps change everything in place
        optimizer_state["state"][0]["exp_avg"] += 5
        optimizer_state["param_groups"][0]["lr"] = 0.2
    saved = checkpoint.load(tmp_path / "a.pt")
    assert torch.equal(saved["model"]["w"], torch.zeros(1000))
    assert torch.equal(saved["optimizer"]["state"][0]["exp_avg"], torch.zeros(3))
    assert saved["optimizer"]["param_groups"][0]["lr"] == 0.1


def test_files_land_in_order_and_leaving_waits_for_the_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landed: list[str] = []
    real_replace = os.replace

    def slow_replace(tmp: str, path: Path) -> None:  # a slow disk: each move takes 50 ms
        time.sleep(0.05)
        real_replace(tmp, path)
        landed.append(Path(path).stem)

    monkeypatch.setattr(os, "replace", slow_replace)
    with background_writes(depth=2) as writer:
        for name in ("best", "last", "best", "last"):
            writer.write(
                tmp_path / f"{name}.txt", lambda file, name=name: file.write(name.encode())
            )
        assert len(landed) < 4  # training went on while they were published
    assert landed == ["best", "last", "best", "last"]
    assert (tmp_path / "last.txt").read_text() == "last"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_failed_fsync_fails_the_next_save_and_stops_the_files_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:  # the disk fills while best.pt's data is being flushed
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path / ".best.pt")):
            release.wait()
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    writer = BackgroundWriter(depth=4)
    writer.write(tmp_path / "best.pt", lambda file: file.write(b"b"))
    writer.write(tmp_path / "last.pt", lambda file: file.write(b"x"))  # queued behind the failure
    release.set()
    with pytest.raises(RunFailed, match=r"cannot write .*best\.pt: No space left on device"):
        writer.wait()
    assert not (tmp_path / "last.pt").exists()  # would pair a new last.pt with a stale best.pt
    with pytest.raises(RunFailed, match="best.pt"):
        writer.write(tmp_path / "last.pt", lambda file: file.write(b"x"))
    assert writer.close() is not None
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_failed_write_fails_at_once_and_leaves_the_previous_file(tmp_path: Path) -> None:
    (tmp_path / "last.pt").write_bytes(b"previous")

    def full_disk(file) -> None:
        file.write(b"half")
        raise OSError(28, "No space left on device")

    failed = pytest.raises(RunFailed, match=r"cannot write .*last\.pt: No space left on device")
    with background_writes() as writer, failed:
        writer.write(tmp_path / "last.pt", full_disk)
    assert (tmp_path / "last.pt").read_bytes() == b"previous"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_leaving_on_an_error_still_waits_and_a_write_failure_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def failing(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path / ".last.pt")):
            time.sleep(0.05)
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(RunFailed, match="cannot write") as caught, background_writes() as writer:
        writer.write(tmp_path / "last.pt", lambda file: file.write(b"x"))
        raise RunFailed("the training loss became nan")
    assert "nan" in str(caught.value.__cause__)  # the reason the loop stopped is kept
    with pytest.raises(KeyError), background_writes() as writer:
        writer.write(tmp_path / "ok.txt", lambda file: file.write(b"ok"))
        raise KeyError("boom")
    assert (tmp_path / "ok.txt").read_bytes() == b"ok"


def test_an_object_torch_cannot_save_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RunFailed, match=r"cannot write .*x\.pt"), background_writes():
        checkpoint.save({"f": lambda: None}, tmp_path / "x.pt")
