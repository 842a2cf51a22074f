"""The end of an epoch in named steps: validate, keep the best weights, save the resumable
checkpoint, log (metrics.csv, TensorBoard, console), call back (easytrain tune), and decide
whether early stopping ends the run."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import torch

from easytrain.engine import checkpoint
from easytrain.engine.distributed import all_sum, from_main, model_state
from easytrain.engine.setup import Training
from easytrain.engine.state import LoopState, save
from easytrain.engine.steps import EpochSums, finite
from easytrain.engine.validation import val_scores
from easytrain.tracking.csvlog import write_metrics_csv

if TYPE_CHECKING:
    from easytrain.tracking.tensorboard import TensorBoardLog


def _val_batch(t: Training) -> int:
    """Examples per validation forward pass: rows of features (tables) in one pass of up to 64 MB
    of inputs, which makes a small split one pass; anything else as many as a training batch,
    at least 256 (images and token ids: their activations grow far faster than their inputs);
    images of up to 1 MB of inputs in all, like digits' 8×8, in one pass too."""
    floor = max(t.batch_size, 256)
    x = t.val.x if t.val is not None else None
    if not isinstance(x, torch.Tensor) or not len(x) or not x.is_floating_point():
        return floor
    row = x[0].numel() * x.element_size()
    return max(floor, (64 << 20 if x.ndim == 2 else 1 << 20) // row)


def validate(t: Training, state: LoopState, sums: EpochSums, epoch: int) -> dict[str, float]:
    """The epoch's row of metrics.csv: the training loss over every process, the val split's
    scores; rank 0's numbers, so that every process decides alike."""
    total = all_sum(sums.loss_sum, t.world)  # every process's share of the epoch
    row: dict[str, float] = {
        "epoch": epoch + 1,
        "train_loss": finite(total, epoch, state.step, t.last) / t.loss_items,
    }
    if t.val is not None and (t.world.main or t.sharded):  # sharded: all take part
        scores = val_scores(t, _val_batch(t))
        row |= {f"val_{name}": value for name, value in scores.items()}
    row["lr"] = sums.lr
    row["seconds"] = round(time.perf_counter() - sums.started, 4)
    result: dict[str, float] = from_main(row, t.world)
    return result


def keep_best(t: Training, state: LoopState, value: float, epoch: int) -> None:
    """checkpoints/best.pt when the monitored value improved; else one more epoch without."""
    if not t.monitor.improved(value, state.best_value):
        state.bad_epochs += 1
        return
    state.best_value, state.best_epoch, state.bad_epochs = value, epoch + 1, 0
    weights = model_state(t.model, t.config.strategy, t.world)  # fsdp: a collective
    if t.world.main:
        saved = {"model": weights, "epoch": epoch + 1, "monitor": t.monitor.name, "value": value}
        checkpoint.save(saved, t.best)


def log_epoch(
    t: Training, state: LoopState, row: dict[str, float], tensorboard: TensorBoardLog | None
) -> None:
    """metrics.csv (rank 0), TensorBoard, the console, and the per-epoch callback."""
    if t.world.main:
        write_metrics_csv(t.run_dir / "metrics.csv", state.history)
    if tensorboard is not None:
        tensorboard.epoch(row)
    t.reporter.end_epoch(row)
    if t.on_epoch is not None and t.world.main:  # easytrain tune: report; may prune
        t.on_epoch(row)


def should_stop(t: Training, state: LoopState) -> bool:
    """Early stopping: the monitored value has not improved for `patience` epochs."""
    patience = t.monitor.patience
    if patience is None or state.bad_epochs < patience:
        return False
    t.reporter.info(
        f"early stopping: {t.monitor.name} has not improved for {patience} epochs "
        f"(best {state.best_value:.4g} at epoch {state.best_epoch})"
    )
    return True


def end_epoch(
    t: Training, state: LoopState, sums: EpochSums, epoch: int, tensorboard: TensorBoardLog | None
) -> bool:
    """Everything after an epoch's last step; True when training should stop early."""
    row = validate(t, state, sums, epoch)
    value = row.get(t.monitor.name, math.nan)
    t.parts.schedule.after_epoch(value, t.monitor.mode)
    state.epoch, state.batch = epoch + 1, 0
    state.history.append(row)
    keep_best(t, state, value, epoch)
    save(t.last, t.parts, state, 0.0, t.world, t.recipe)
    log_epoch(t, state, row, tensorboard)
    return should_stop(t, state)
