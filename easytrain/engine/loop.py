"""The training loop. It reads top to bottom: set up, then per epoch shuffle, step, validate,
log, checkpoint. No host–device sync per step: the loss is summed on the device and read once per
logging interval. Batches are sliced out of in-memory tensors (no DataLoader, no per-example
Python), in an order that depends only on (seed, epoch), so a resumed run replays it exactly.
With several processes, each global batch is split between them (DDP averages the gradients),
so N processes × batch B take the same steps as one process × batch N·B."""

from __future__ import annotations

import contextlib
import math
import time

import torch

from easytrain.config.load import monitor_mode
from easytrain.config.train import TrainConfig
from easytrain.data.stream import ImageStream
from easytrain.engine import checkpoint, rng
from easytrain.engine.distributed import all_sum, from_main, model_state, parallel, shard
from easytrain.engine.interrupt import StopRequest
from easytrain.engine.optim import build_optimizer, training_loss
from easytrain.engine.precision import Precision
from easytrain.engine.schedule import Schedule
from easytrain.engine.state import LoopState, Trainables, restore, save
from easytrain.errors import Interrupted, RunFailed
from easytrain.metrics.scoring import evaluate_split
from easytrain.pipeline.context import RunContext
from easytrain.tracking.csvlog import write_metrics_csv


def _improved(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _compiled(model: torch.nn.Module, probe: torch.Tensor) -> torch.nn.Module:
    """torch.compile, tried on a real batch now, so that 'unsupported' is said at the start."""
    try:
        compiled = torch.compile(model)
        compiled(probe)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFailed(f"train.compile: torch.compile does not work here ({reason}); "
                        "set train.compile=false") from None
    return compiled


def _on(batch: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """A streamed batch moved to the device (asynchronously from pinned memory)."""
    batch = batch.to(device, non_blocking=True)
    return batch.contiguous(memory_format=torch.channels_last) if channels_last else batch


def fit(ctx: RunContext, config: TrainConfig, metric_names: list[str]) -> LoopState:
    model, data, device, seed, world = ctx.model, ctx.data, ctx.device, ctx.recipe.seed, ctx.world
    assert model is not None and data is not None, "the preprocess and model stages run first"
    folder = ctx.run_dir / "checkpoints"
    # The whole split lives on the device, unless it is streamed: then batches come from workers.
    x, y = data.train.x.to(device), data.train.y.to(device)
    stream = x.loader(pin_memory=device.type == "cuda") if isinstance(x, ImageStream) else None
    channels_last = config.channels_last and x.ndim == 4
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        if stream is None:
            x = x.contiguous(memory_format=torch.channels_last)
    n, accumulate = len(y), config.accumulate
    batch_size = config.batch_size * world.size  # the global batch; each process takes a share
    batches = math.ceil(n / batch_size)
    steps_per_epoch = math.ceil(batches / accumulate)

    loss_fn = training_loss(config, data, device)
    forward = parallel(model, config.strategy, world, device)  # fsdp shards before the optimizer
    sharded = world.distributed and config.strategy == "fsdp"
    optimizer = build_optimizer(model, config.optimizer)
    parts = Trainables(model, optimizer, Schedule(config.scheduler, optimizer, steps_per_epoch,
                                                  config.epochs), Precision(config.precision, device),
                       config.strategy)
    schedule, precision = parts.schedule, parts.precision
    if config.compile:
        forward = _compiled(forward, x[: config.batch_size].to(device))
    params = list(model.parameters())  # clipping skips those without a gradient (frozen)
    set_epoch = getattr(model, "set_epoch", None)  # e.g. a backbone that unfreezes later
    augment = data.train_transform
    balanced = getattr(ctx.recipe.data, "sampler", "shuffle") == "balanced"  # plugins may lack it
    draw_weights = rng.balanced_weights(data.train.y) if balanced else None
    stopping = config.early_stopping
    monitor = stopping.monitor if stopping else config.monitor
    mode = monitor_mode(monitor, stopping.mode if stopping else "auto", ctx.registry)
    if data.val is None and monitor.startswith("val_"):
        monitor, mode = "train_loss", "min"
    recipe = ctx.recipe.model_dump(mode="json")

    state, partial_loss = LoopState(), 0.0
    if ctx.resume:
        state, partial_loss = restore(folder / "last.pt", parts, world, device)
        ctx.reporter.info(f"resuming after epoch {state.epoch}, batch {state.batch} (step {state.step})")

    def check_finite(loss_sum: torch.Tensor, epoch: int) -> float:
        value = float(loss_sum)  # a host sync: only once per logging interval
        if not math.isfinite(value):
            raise RunFailed(
                f"the training loss became {value} in epoch {epoch + 1}, at or before step "
                f"{state.step}; lower train.optimizer.lr or clip gradients "
                f"(train.grad_clip_norm). The last good checkpoint is kept: {folder / 'last.pt'}"
            )
        return value

    # Subnormal floats (decaying optimizer moments, tiny gradients) make CPU arithmetic up to 10×
    # slower; flushing them changes nothing training notices. It is process-wide, so only here.
    torch.set_flush_denormal(True)
    tensorboard = None
    if config.tensorboard and world.main:
        from easytrain.tracking.tensorboard import TensorBoardLog

        tensorboard = TensorBoardLog(ctx.run_dir / "tensorboard")
    # Ctrl-C is caught between steps with one process; with several, the launcher stops them.
    interrupts = StopRequest() if not world.distributed else contextlib.nullcontext(StopRequest())
    try:
        with interrupts as stop:
            for epoch in range(state.epoch, config.epochs):
                started = time.perf_counter()
                model.train()
                if set_epoch is not None:
                    set_epoch(epoch)
                order = rng.epoch_order(n, seed, epoch, draw_weights).to(device)
                loss_sum = torch.tensor(partial_loss, device=device)
                lr = optimizer.param_groups[0]["lr"]
                seen = 0
                ctx.reporter.start_epoch(epoch + 1, config.epochs, steps_per_epoch,
                                         done=state.batch // accumulate)
                indices = [shard(order[b * batch_size : (b + 1) * batch_size], world)
                           for b in range(state.batch, batches)]
                served = (  # the inputs of each batch, in order
                    (_on(b, device, channels_last) for b in stream.epoch([i.cpu() for i in indices]))
                    if stream else (x[i] for i in indices)
                )
                for batch, index in enumerate(indices, start=state.batch):
                    group = batch // accumulate  # gradients of a group are summed, then one step
                    group_end = min((group + 1) * accumulate, batches)
                    group_examples = min(group_end * batch_size, n) - group * accumulate * batch_size
                    last = batch + 1 == group_end
                    inputs = next(served)
                    inputs = inputs if augment is None else augment(inputs)
                    # between the steps of a group, DDP need not average gradients yet
                    quiet = world.distributed and not last and not sharded
                    with forward.no_sync() if quiet else contextlib.nullcontext():
                        with precision.autocast():
                            loss = loss_fn(forward(inputs), y[index])
                        # weighted by its share of the group's examples (DDP averages over
                        # processes): 4 × 16 or 2 processes × 32 make the same step as 1 × 64
                        share = len(index) * world.size / group_examples
                        precision.backward(loss if share == 1.0 else loss * share)
                    loss_sum += loss.detach().float() * len(index)
                    seen += len(index)
                    if not last:
                        continue
                    lr = optimizer.param_groups[0]["lr"]  # the rate this step used, for the log
                    precision.step(optimizer, params, config.grad_clip_norm, config.grad_clip_value)
                    optimizer.zero_grad(set_to_none=True)
                    schedule.after_step()
                    state.step += 1
                    ctx.reporter.advance()
                    if state.step % config.log_every_steps == 0:
                        ctx.reporter.status(f"loss {check_finite(loss_sum, epoch) / max(seen, 1):.4f}")
                    every = config.checkpoint_every_steps
                    if (every and state.step % every == 0) or stop.requested:
                        state.batch = batch + 1
                        save(folder / "last.pt", parts, state, check_finite(loss_sum, epoch), world, recipe)
                    if stop.requested:  # Ctrl-C: the step is finished and saved; leave
                        raise Interrupted(
                            f"interrupted in epoch {epoch + 1} at batch {batch + 1}/{batches}; "
                            f"continue with: easytrain run … --resume --out {ctx.run_dir}"
                        )

                total = all_sum(loss_sum, world)  # every process's share of the epoch
                row: dict[str, float] = {"epoch": epoch + 1, "train_loss": check_finite(total, epoch) / n}
                if data.val is not None and (world.main or sharded):  # sharded: all take part
                    scores = evaluate_split(model, data.val.x, data.val.y, task=data.task,
                                            loss_fn=loss_fn, names=metric_names, registry=ctx.registry,
                                            batch_size=max(batch_size, 256), device=device)
                    row |= {f"val_{name}": value for name, value in scores.items()}
                row["lr"] = lr
                row["seconds"] = round(time.perf_counter() - started, 4)
                row = from_main(row, world)  # one set of numbers decides for every process
                value = row.get(monitor, math.nan)
                schedule.after_epoch(value, mode)

                state.epoch, state.batch, partial_loss = epoch + 1, 0, 0.0
                state.history.append(row)
                if _improved(value, state.best_value, mode, stopping.min_delta if stopping else 0.0):
                    state.best_value, state.best_epoch, state.bad_epochs = value, epoch + 1, 0
                    weights = model_state(model, config.strategy, world)  # fsdp: a collective
                    if world.main:
                        checkpoint.save({"model": weights, "epoch": epoch + 1,
                                         "monitor": monitor, "value": value}, folder / "best.pt")
                else:
                    state.bad_epochs += 1
                save(folder / "last.pt", parts, state, 0.0, world, recipe)
                if world.main:
                    write_metrics_csv(ctx.run_dir / "metrics.csv", state.history)
                if tensorboard is not None:
                    tensorboard.epoch(row)
                ctx.reporter.end_epoch(row)
                if ctx.on_epoch is not None and world.main:  # easytrain tune: report; may prune
                    ctx.on_epoch(row)
                if stopping and state.bad_epochs >= stopping.patience:
                    ctx.reporter.info(
                        f"early stopping: {monitor} has not improved for {stopping.patience} epochs "
                        f"(best {state.best_value:.4g} at epoch {state.best_epoch})"
                    )
                    break
    finally:
        torch.set_flush_denormal(False)
        if tensorboard is not None:
            tensorboard.close()
    return state
