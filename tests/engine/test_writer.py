"""Checkpoints written in the background: in order, exactly what was saved, and a failure is never
lost."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import torch

from easytrain.engine import checkpoint
from easytrain.engine.writer import BackgroundWriter, background_writes, cpu_copy
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


def test_writes_land_in_order_and_leaving_waits_for_the_last(tmp_path: Path) -> None:
    landed: list[str] = []

    def slow(name: str):
        def write(file) -> None:
            time.sleep(0.05)
            file.write(name.encode())
            landed.append(name)

        return write

    with background_writes(depth=2) as writer:
        for name in ("best", "last", "best", "last"):
            writer.submit(tmp_path / f"{name}.txt", slow(name))
        assert len(landed) < 4  # training went on while they were written
    assert landed == ["best", "last", "best", "last"]
    assert (tmp_path / "last.txt").read_text() == "last"


def test_a_failed_write_fails_the_next_save_and_stops_the_writes_after_it(tmp_path: Path) -> None:
    writer = BackgroundWriter(depth=4)
    release = threading.Event()

    def blocked(file) -> None:
        release.wait()
        raise OSError(28, "No space left on device")

    writer.submit(tmp_path / "best.pt", blocked)
    writer.submit(tmp_path / "last.pt", lambda file: file.write(b"x"))  # queued behind the failure
    release.set()
    with pytest.raises(RunFailed, match=r"cannot write .*best\.pt: No space left on device"):
        writer.wait()
    assert not (tmp_path / "last.pt").exists()  # would pair a new last.pt with a stale best.pt
    with pytest.raises(RunFailed, match="best.pt"):
        writer.submit(tmp_path / "last.pt", lambda file: file.write(b"x"))
    assert writer.close() is not None
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_leaving_on_an_error_still_waits_and_a_write_failure_wins(tmp_path: Path) -> None:
    def fails(file) -> None:
        time.sleep(0.05)
        raise OSError(28, "No space left on device")

    with pytest.raises(RunFailed, match="cannot write") as caught, background_writes() as writer:
        writer.submit(tmp_path / "last.pt", fails)
        raise RunFailed("the training loss became nan")
    assert "nan" in str(caught.value.__cause__)  # the reason the loop stopped is kept
    landed = []
    with pytest.raises(KeyError), background_writes() as writer:
        writer.submit(tmp_path / "ok.txt", lambda file: (time.sleep(0.05), landed.append(1)))
        raise KeyError("boom")
    assert landed == [1]


def test_an_object_torch_cannot_save_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RunFailed, match=r"cannot write .*x\.pt"), background_writes():
        checkpoint.save({"f": lambda: None}, tmp_path / "x.pt")


def test_cpu_copy_keeps_a_state_dicts_metadata() -> None:
    state = torch.nn.Linear(2, 2).state_dict()
    copied = cpu_copy(state)
    assert copied._metadata == state._metadata
    assert copied["weight"].data_ptr() != state["weight"].data_ptr()


def test_a_state_bigger_than_the_budget_is_written_at_once_after_the_queue(tmp_path: Path) -> None:
    landed: list[str] = []
    writer = BackgroundWriter(budget=1000)
    writer.submit(tmp_path / "best.pt", lambda file: (time.sleep(0.1), landed.append("best")))
    weights = torch.zeros(1000)  # 4,000 bytes: no copy of it is made
    writer.save_state(tmp_path / "last.pt", {"w": weights})
    landed.append("last")
    assert landed == ["best", "last"]
    assert torch.equal(checkpoint.load(tmp_path / "last.pt")["w"], weights)
    assert writer.close() is None


def test_settled_parts_are_written_as_given_and_the_rest_is_copied(tmp_path: Path) -> None:
    """The loop's history and the recipe are fresh copies already: the writer neither walks nor
    copies them (at 200 epochs that walk cost a short epoch milliseconds), yet the file is whole."""
    weights = torch.zeros(10)
    history = [{"epoch": 1.0, "train_loss": 0.5}]
    with background_writes() as writer:
        state = {"model": {"w": weights}, "state": {"history": history}, "recipe": {"seed": 0}}
        writer.save_state(tmp_path / "last.pt", state, frozenset({"state", "recipe"}))
        weights += 1  # not settled: copied at save time
    saved = checkpoint.load(tmp_path / "last.pt")
    assert torch.equal(saved["model"]["w"], torch.zeros(10))
    assert saved["state"] == {"history": [{"epoch": 1.0, "train_loss": 0.5}]}
    assert saved["recipe"] == {"seed": 0}
    assert list(saved) == ["model", "state", "recipe"]  # the order of the keys is kept
