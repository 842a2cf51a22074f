"""What a checkpoint holds, and putting it back: exact resume needs every piece."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from easytrain.engine import checkpoint, rng
from easytrain.engine.distributed import World, gather
from easytrain.errors import RecipeError

CHECKPOINT_FORMAT = 2


@dataclass
class LoopState:
    """Where training stands; saved in every checkpoint, restored by --resume."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # global batches done in the current epoch (non-zero only mid-epoch)
    step: int = 0  # optimizer steps in all
    history: list[dict[str, float]] = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0  # epochs since the monitored value last improved


@dataclass
class Trainables:
    """The objects whose state a checkpoint carries."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Any  # engine.schedule.Schedule
    precision: Any  # engine.precision.Precision


def save(path: Path, parts: Trainables, state: LoopState, loss_sum: float, world: World,
         recipe: dict[str, Any]) -> None:
    """Every process hands over its RNG state and partial loss; rank 0 writes the file."""
    ranks = gather({"rng": rng.capture(), "loss_sum": loss_sum}, world)
    if not world.main:
        return
    checkpoint.save(
        {
            "format": CHECKPOINT_FORMAT,
            "model": parts.model.state_dict(),
            "optimizer": parts.optimizer.state_dict(),
            "schedule": parts.schedule.state_dict(),
            "scaler": parts.precision.state_dict(),
            "ranks": ranks,  # per process: RNG state, training loss summed so far this epoch
            "state": asdict(state),
            "recipe": recipe,
        },
        path,
    )


def restore(path: Path, parts: Trainables, world: World, device: torch.device) -> tuple[LoopState, float]:
    saved = checkpoint.load(path, map_location=device)
    ranks = saved.get("ranks")
    if saved.get("format") != CHECKPOINT_FORMAT or ranks is None:
        raise RecipeError(f"--resume: {path} was written by another version of easytrain")
    if len(ranks) != world.size:
        raise RecipeError(
            f"--resume: {path} was written by {len(ranks)} process(es); resume with "
            f"--nproc-per-node {len(ranks)} (this run has {world.size})"
        )
    parts.model.load_state_dict(saved["model"])
    parts.optimizer.load_state_dict(saved["optimizer"])
    parts.schedule.load_state_dict(saved["schedule"])
    parts.precision.load_state_dict(saved["scaler"])
    mine = ranks[world.rank]
    rng.restore(mine["rng"])
    return LoopState(**saved["state"]), float(mine["loss_sum"])
