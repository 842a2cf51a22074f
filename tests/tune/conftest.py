"""Small real searches: iris, a few epochs, a few trials, one CPU thread per process."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SEARCH = """\
name: iris-search
seed: 0
data: {{source: builtin, name: iris, split: {{val: 0.2, test: 0.2}}}}
model: {{type: mlp, hidden: [16]}}
train:
  epochs: {epochs}
  batch_size: 16
  optimizer: {{name: adam, lr: 0.01}}
  monitor: val_accuracy
  tensorboard: false
evaluate: {{metrics: [accuracy], plots: false}}
export: {{formats: [state_dict]}}
tune:
  metric: val_accuracy
  trials: {trials}
  startup_trials: 3
  pruner: median
  space:
    # from useless (1e-5: nothing learned in a few epochs) to good (1e-2)
    train.optimizer.lr: {{loguniform: [1.0e-5, 1.0e-1]}}
    model.hidden: {{choice: [[8], [32, 16]]}}
"""


def write_search(folder: Path, epochs: int = 8, trials: int = 8) -> Path:
    path = folder / "iris-search.yaml"
    path.write_text(SEARCH.format(epochs=epochs, trials=trials))
    return path


def study_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "study.csv").open() as file:
        return list(csv.DictReader(file))


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open() as file:
        return list(csv.DictReader(file))


def summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text())


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread, and a busy 2-core machine does not thrash."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
