"""sampler: grid runs every combination once (a seeded subset when the budget is smaller)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import cli
from tests.tune.conftest import study_rows

GRID = """\
name: grid
data: {source: builtin, name: iris, split: {val: 0.2, test: 0.2}}
model: {type: mlp, hidden: [8]}
train: {epochs: 2, tensorboard: false}
evaluate: {metrics: [accuracy], plots: false}
tune:
  sampler: grid
  pruner: none
  trials: %d
  space:
    model.hidden: {choice: [[8], [16, 8]]}
    train.optimizer.lr: {choice: [0.001, 0.1]}
    model.dropout: {uniform: [0.0, 0.1], step: 0.1}
"""


def _points(folder: Path) -> list[tuple[str, str, str]]:
    keys = ("params.model.hidden", "params.train.optimizer.lr", "params.model.dropout")
    return [tuple(row[key] for key in keys) for row in study_rows(folder)]  # type: ignore[misc]


def test_grid_runs_each_point_once_and_stops_at_its_size(tmp_path: Path) -> None:
    (tmp_path / "grid.yaml").write_text(GRID % 50)
    result = cli("tune", str(tmp_path / "grid.yaml"), "--out", str(tmp_path / "all"))
    assert result.returncode == 0, result.stderr
    points = _points(tmp_path / "all")
    assert len(points) == len(set(points)) == 2 * 2 * 2
    assert {p[2] for p in points} == {"0.0", "0.1"}

    (tmp_path / "some.yaml").write_text(GRID % 3)
    result = cli("tune", str(tmp_path / "some.yaml"), "--out", str(tmp_path / "some"))
    assert result.returncode == 0, result.stderr
    some = _points(tmp_path / "some")
    assert len(some) == len(set(some)) == 3 and set(some) <= set(points)
