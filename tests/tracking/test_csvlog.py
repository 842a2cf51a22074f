"""metrics.csv: appended to epoch by epoch, the same file a whole rewrite makes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from easytrain.tracking import csvlog


def _row(epoch: int, **extra: float) -> dict[str, float]:
    return {
        "epoch": epoch,
        "train_loss": 1.0 / epoch,
        "val_loss": 2.0 / epoch,
        **extra,
        "lr": 0.001,
        "seconds": 0.5,
    }


@pytest.fixture(autouse=True)
def _fresh_process() -> None:
    csvlog._written.clear()


def _whole(tmp_path: Path, history: list[dict[str, float]]) -> str:
    reference = tmp_path / "whole.csv"
    csvlog._written.clear()
    csvlog.write_metrics_csv(reference, history)
    return reference.read_text()


def test_appending_makes_the_file_a_rewrite_makes(tmp_path: Path) -> None:
    path, history = tmp_path / "metrics.csv", []
    for epoch in range(1, 6):
        history.append(_row(epoch, val_accuracy=0.5 + epoch / 10))
        csvlog.write_metrics_csv(path, history)
        inode = path.stat().st_ino
    assert path.stat().st_ino == inode  # appended in place, not replaced
    text = path.read_text()
    assert text == _whole(tmp_path, history)
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds"]


def test_a_new_column_or_a_changed_file_is_rewritten_whole(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    history = [_row(1)]
    csvlog.write_metrics_csv(path, history)
    history.append(_row(2, val_accuracy=0.9))  # a column the first row lacks
    csvlog.write_metrics_csv(path, history)
    assert path.read_text() == _whole(tmp_path, history)
    csvlog._written.clear()
    csvlog.write_metrics_csv(path, history)
    path.write_text(path.read_text() + "garbage\n")  # changed behind the writer's back
    history.append(_row(3, val_accuracy=0.95))
    csvlog.write_metrics_csv(path, history)
    assert path.read_text() == _whole(tmp_path, history)


def test_a_resumed_process_rewrites_from_the_checkpoints_history(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    history = [_row(epoch) for epoch in range(1, 4)]
    csvlog.write_metrics_csv(path, history)
    csvlog._written.clear()  # a new process, resumed after epoch 2 (its checkpoint's history)
    csvlog.write_metrics_csv(path, history[:2])
    assert path.read_text() == _whole(tmp_path, history[:2])
