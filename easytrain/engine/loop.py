"""The training loop. It reads top to bottom: set up, then per epoch shuffle, step, validate,
log, checkpoint. No host–device sync per step: the loss is summed on the device and read once
per epoch. Batches are sliced out of in-memory tensors (no DataLoader, no per-example Python)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from easytrain.config.load import monitor_mode
from easytrain.config.train import TrainConfig
from easytrain.context import RunContext
from easytrain.engine import checkpoint, rng
from easytrain.engine.interrupt import StopRequest
from easytrain.engine.optim import build_loss, build_optimizer, build_scheduler
from easytrain.errors import Interrupted, RunFailed
from easytrain.metrics.scoring import evaluate_split
from easytrain.tracking.csvlog import write_metrics_csv

CHECKPOINT_FORMAT = 1


@dataclass
class LoopState:
    """Where training stands; saved in every checkpoint, restored by --resume."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # batches done in the current epoch (non-zero only mid-epoch)
    step: int = 0  # optimizer steps in all
    loss_sum: float = 0.0  # training loss summed over the current epoch's examples so far
    history: list[dict[str, float]] = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0  # epochs since the monitored value last improved


def _improved(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value < best - min_delta if mode == "min" else value > best + min_delta


def fit(ctx: RunContext, config: TrainConfig, metric_names: list[str]) -> LoopState:
    model, data, device, seed = ctx.model, ctx.data, ctx.device, ctx.recipe.seed
    assert model is not None and data is not None, "the preprocess and model stages run first"
    folder = ctx.run_dir / "checkpoints"
    optimizer = build_optimizer(model, config.optimizer)
    scheduler = build_scheduler(optimizer, config.scheduler, config.epochs)
    loss_fn = build_loss(config, data.task, data.preprocessing.get("target"))
    stopping = config.early_stopping
    monitor = stopping.monitor if stopping else config.monitor
    mode = monitor_mode(monitor, stopping.mode if stopping else "auto", ctx.registry)
    if data.val is None and monitor.startswith("val_"):
        monitor, mode = "train_loss", "min"

    state = LoopState()
    if ctx.resume:
        state = _restore(folder / "last.pt", model, optimizer, scheduler, device)
        ctx.reporter.info(
            f"resuming after epoch {state.epoch}, batch {state.batch} (step {state.step})"
        )

    def save_last() -> None:
        checkpoint.save(
            {
                "format": CHECKPOINT_FORMAT,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler else None,
                "rng": rng.capture(),
                "state": asdict(state),
                "recipe": ctx.recipe.model_dump(mode="json"),
            },
            folder / "last.pt",
        )

    x, y = data.train.x.to(device), data.train.y.to(device)  # the whole split lives on the device
    augment = data.train_transform
    n, batch_size = len(y), config.batch_size
    steps = math.ceil(n / batch_size)
    with StopRequest() as stop:
        for epoch in range(state.epoch, config.epochs):
            started = time.perf_counter()
            model.train()
            order = rng.epoch_order(n, seed, epoch).to(device)
            loss_sum = torch.tensor(state.loss_sum, device=device)
            ctx.reporter.start_epoch(epoch + 1, config.epochs, steps, done=state.batch)
            for batch in range(state.batch, steps):
                index = order[batch * batch_size : (batch + 1) * batch_size]
                inputs = x[index] if augment is None else augment(x[index])
                loss = loss_fn(model(inputs), y[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach() * len(index)
                state.step += 1
                ctx.reporter.advance()
                if stop.requested:  # Ctrl-C: finish the step, save where we are, leave
                    state.batch, state.loss_sum = batch + 1, float(loss_sum)
                    save_last()
                    raise Interrupted(
                        f"interrupted in epoch {epoch + 1} at batch {batch + 1}/{steps}; "
                        f"continue with: easytrain run … --resume --out {ctx.run_dir}"
                    )

            train_loss = float(loss_sum) / n  # the one host sync of the epoch
            if not math.isfinite(train_loss):
                raise RunFailed(
                    f"the training loss became {train_loss} in epoch {epoch + 1} (by step {state.step}); "
                    f"lower train.optimizer.lr? The last good checkpoint is {folder / 'last.pt'}"
                )
            row: dict[str, float] = {"epoch": epoch + 1, "train_loss": train_loss}
            if data.val is not None:
                scores = evaluate_split(
                    model,
                    data.val.x,
                    data.val.y,
                    task=data.task,
                    loss_fn=loss_fn,
                    names=metric_names,
                    registry=ctx.registry,
                    batch_size=max(batch_size, 256),
                    device=device,
                )
                row |= {f"val_{name}": value for name, value in scores.items()}
            row["lr"] = optimizer.param_groups[0]["lr"]
            if scheduler is not None:
                scheduler.step()
            row["seconds"] = round(time.perf_counter() - started, 4)

            state.epoch, state.batch, state.loss_sum = epoch + 1, 0, 0.0
            state.history.append(row)
            value = row.get(monitor, math.nan)
            if _improved(value, state.best_value, mode, stopping.min_delta if stopping else 0.0):
                state.best_value, state.best_epoch, state.bad_epochs = value, epoch + 1, 0
                checkpoint.save(
                    {
                        "model": model.state_dict(),
                        "epoch": epoch + 1,
                        "monitor": monitor,
                        "value": value,
                    },
                    folder / "best.pt",
                )
            else:
                state.bad_epochs += 1
            save_last()
            write_metrics_csv(ctx.run_dir / "metrics.csv", state.history)
            ctx.reporter.end_epoch(row)
            if stopping and state.bad_epochs >= stopping.patience:
                ctx.reporter.info(
                    f"early stopping: {monitor} has not improved for {stopping.patience} epochs "
                    f"(best {state.best_value:.4g} at epoch {state.best_epoch})"
                )
                break
    return state


def _restore(
    path: Path, model: Any, optimizer: Any, scheduler: Any, device: torch.device
) -> LoopState:
    saved = checkpoint.load(path, map_location=device)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if scheduler is not None and saved["scheduler"] is not None:
        scheduler.load_state_dict(saved["scheduler"])
    rng.restore(saved["rng"])
    return LoopState(**saved["state"])
