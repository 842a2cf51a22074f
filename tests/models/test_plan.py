"""--dry-run: a plan of the run, from the meta device, with nothing trained or written."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.conftest import RECIPES, cli


def test_dry_run_plans_without_training_or_writing(tmp_path: Path) -> None:
    done = cli("run", str(RECIPES / "digits.yaml"), "--dry-run", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert not (tmp_path / "runs").exists()
    assert plan["examples"] == {"train": 1257, "val": 270, "test": 270}
    assert plan["steps_per_epoch"] == 20 and plan["total_steps"] == 20 * 15  # ceil(1257 / 64)
    assert "training memory" in done.stderr and "(64, 8, 8)" in done.stderr


def test_planned_parameters_match_the_trained_model(tmp_path: Path) -> None:
    overrides = ("model={type: resnet18}", "train.accumulate=2")
    planned = json.loads(
        cli("run", str(RECIPES / "digits.yaml"), "--dry-run", "--json", *overrides).stdout
    )
    memory = planned["memory_bytes"]
    assert memory["weights"] == planned["parameters"] * 4
    assert memory["optimizer"] == 2 * memory["gradients"]  # adam keeps two moments per weight
    assert planned["steps_per_epoch"] == 10  # 20 batches, an optimizer step every 2
    out = tmp_path / "run"
    done = cli(
        "run",
        str(RECIPES / "digits.yaml"),
        "--out",
        str(out),
        *overrides,
        "train.epochs=1",
        "data.split={val: 0.1, test: 0.8}",
        "~evaluate.gates",
        "~export",
    )
    assert done.returncode == 0, done.stderr
    trained = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert (
        sum(
            t.numel()
            for name, t in trained.items()
            if "running" not in name and "num_batches" not in name
        )
        == planned["parameters"]
    )
