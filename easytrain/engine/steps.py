"""One epoch of training in named steps: the epoch's batches, the forward and backward pass of one
batch, one optimizer step per group of batches, and what follows a step (log, checkpoint, Ctrl-C).

No host–device sync per step: the loss is summed on the device and read once per logging
interval. With several processes each global batch is split between them (DDP averages the
gradients), so N processes × batch B take the same steps as one process × batch N·B.

A step's loss is the mean over all its loss items: examples, or a language model's label tokens
(LMLoss.items). Each batch's mean is weighted by its share of the step's items, counted before
the epoch from the whole global batches (every process holds the split's labels), so micro-batches
(train.accumulate) and processes of any mix of answer lengths make the step of one big batch."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch

from easytrain.engine import rng
from easytrain.engine.batches import bucketed_order, trimmed
from easytrain.engine.distributed import shard
from easytrain.engine.interrupt import StopRequest
from easytrain.engine.prefetch import ahead
from easytrain.engine.setup import Training
from easytrain.engine.state import LoopState, save
from easytrain.errors import Interrupted, RunFailed


@dataclass
class EpochSums:
    """What an epoch adds up as it goes; the loss stays on the device until it is logged."""

    loss_sum: torch.Tensor
    seen: int  # loss items (examples, label tokens) this process has stepped over this epoch
    lr: float  # the rate the latest step used, for the log
    started: float  # perf_counter at the start of the epoch


def finite(loss_sum: torch.Tensor, epoch: int, step: int, last: Path) -> float:
    """The summed loss on the host (a sync: once per logging interval); a NaN stops the run."""
    value = float(loss_sum)
    if not math.isfinite(value):
        raise RunFailed(
            f"the training loss became {value} in epoch {epoch + 1}, at or before step "
            f"{step}; lower train.optimizer.lr or clip gradients "
            f"(train.grad_clip_norm). The last good checkpoint is kept: {last}"
        )
    return value


def start_epoch(t: Training, epoch: int, partial_loss: float) -> EpochSums:
    """Train mode, the model's own per-epoch hook, and the progress line (a resumed epoch
    starts with the loss summed before the interruption)."""
    started = time.perf_counter()
    t.model.train()
    if t.set_epoch is not None:
        t.set_epoch(epoch)
    return EpochSums(
        torch.tensor(partial_loss, device=t.device),
        0,
        t.parts.optimizer.param_groups[0]["lr"],
        started,
    )


@dataclass(frozen=True)
class Batch:
    """This process's share of one global batch, and its weight in the step."""

    index: torch.Tensor  # rows of the split, on the device
    items: int  # loss items in it: examples, or a language model's label tokens
    share: float  # items / the step's items over every process, × processes (DDP averages)
    steps: bool  # the last batch of its group (train.accumulate): the optimizer steps after it


def _shares(t: Training, order: torch.Tensor) -> tuple[list[int], list[float]]:
    """Each batch's items on this process and its share of its step (host numbers, from the
    CPU order: no device sync)."""
    size, world = t.batch_size, t.world
    before: Sequence[int] = range(len(order) + 1)  # items before each position of the order
    if t.items is not None:
        before = [0, *torch.cumsum(t.items[order], 0).tolist()]
    mine, whole = [], []
    for b in range(t.batches):
        start, end = b * size, min((b + 1) * size, len(order))
        part, extra = divmod(end - start, world.size)  # shard's tensor_split, by arithmetic
        first = start + world.rank * part + min(world.rank, extra)
        last = first + part + (world.rank < extra)
        mine.append(before[last] - before[first])
        whole.append(before[end] - before[start])
    accumulate = t.config.accumulate
    steps = [sum(whole[g : g + accumulate]) for g in range(0, len(whole), accumulate)]
    shares = [m * world.size / max(steps[b // accumulate], 1) for b, m in enumerate(mine)]
    return mine, shares


def epoch_batches(t: Training, epoch: int, first: int) -> list[Batch]:
    """This process's share of each global batch from `first` on, in an order that depends only
    on (seed, epoch), so a resumed run replays it exactly (with the same weights)."""
    size = t.batch_size
    if t.lengths is not None:  # token ids of varying length: batches of similar lengths
        order = bucketed_order(t.lengths, size, t.seed, epoch, t.draw_weights)
    else:
        order = rng.epoch_order(t.n, t.seed, epoch, t.draw_weights)
    items, shares = _shares(t, order)
    on_device = order.to(t.device)
    batches, accumulate = t.batches, t.config.accumulate
    return [
        Batch(
            shard(on_device[b * size : (b + 1) * size], t.world),
            items[b],
            shares[b],
            steps=b + 1 == min((b // accumulate + 1) * accumulate, batches),
        )
        for b in range(first, batches)
    ]


def batch_inputs(t: Training, batches: list[Batch]) -> Iterator[torch.Tensor]:
    """The inputs of each batch, in order: sliced from the split, or streamed from workers."""
    indices = [b.index for b in batches]
    if t.stream is not None:
        streamed = t.stream.epoch([i.cpu() for i in indices])
        return ahead(streamed, t.device, t.channels_last)  # copied one batch early
    if t.lengths is not None:  # each batch padded only to its longest text
        return trimmed(cast(torch.Tensor, t.x), t.lengths, indices)
    return (t.x[i] for i in indices)


def _no_sync(forward: torch.nn.Module) -> AbstractContextManager[None]:
    """DDP's no_sync (reached through torch.compile's wrapper too)."""
    return cast(Callable[[], AbstractContextManager[None]], forward.no_sync)()


def batch_backward(t: Training, part: Batch, inputs: torch.Tensor, sums: EpochSums) -> None:
    """Forward and backward pass of one batch; the gradients of a group's batches are summed."""
    inputs = inputs if t.augment is None else t.augment(inputs)
    # between the steps of a group, DDP need not average gradients yet
    quiet = t.world.distributed and not part.steps and not t.sharded
    with _no_sync(t.forward) if quiet else contextlib.nullcontext():
        with t.parts.precision.autocast():
            loss = t.loss_fn(t.forward(inputs), t.y[part.index])  # the mean over its items
        # weighted by its share of the step's items: 4 × 16 or 2 processes × 32 make the step
        # of 1 × 64, and a batch of 3 answer tokens counts 1/100 of one of 300
        share = part.share
        t.parts.precision.backward(loss if share == 1.0 else loss * share)
    sums.loss_sum.add_(loss.detach(), alpha=part.items)
    sums.seen += part.items


def optimizer_step(t: Training, state: LoopState) -> float:
    """Clip, step, clear the gradients, advance the schedule; the rate this step used."""
    optimizer = t.parts.optimizer
    lr: float = optimizer.param_groups[0]["lr"]
    t.parts.precision.step(optimizer, t.params, t.config.grad_clip_norm, t.config.grad_clip_value)
    optimizer.zero_grad(set_to_none=True)
    t.parts.schedule.after_step()
    state.step += 1
    t.reporter.advance()
    return lr


def after_step(
    t: Training, state: LoopState, sums: EpochSums, epoch: int, batch: int, stop: StopRequest
) -> None:
    """The loss now and then, a checkpoint every train.checkpoint_every_steps, and on Ctrl-C a
    checkpoint after the finished step, then leave (exit 130; --resume continues)."""
    if state.step % t.config.log_every_steps == 0:
        loss = finite(sums.loss_sum, epoch, state.step, t.last) / max(sums.seen, 1)
        t.reporter.status(f"loss {loss:.4f}")
    every = t.config.checkpoint_every_steps
    if (every and state.step % every == 0) or stop.requested:
        state.batch = batch + 1
        save(
            t.last,
            t.parts,
            state,
            finite(sums.loss_sum, epoch, state.step, t.last),
            t.world,
            t.recipe,
        )
    if stop.requested:
        raise Interrupted(
            f"interrupted in epoch {epoch + 1} at batch {batch + 1}/{t.batches}; "
            f"continue with: easytrain run … --resume --out {t.run_dir}"
        )


def train_epoch(
    t: Training, state: LoopState, epoch: int, partial_loss: float, stop: StopRequest
) -> EpochSums:
    """The batches of one epoch (from where a resumed run left off), a step per group."""
    sums = start_epoch(t, epoch, partial_loss)
    accumulate = t.config.accumulate
    t.reporter.start_epoch(
        epoch + 1, t.config.epochs, t.steps_per_epoch, done=state.batch // accumulate
    )
    batches = epoch_batches(t, epoch, state.batch)
    served = batch_inputs(t, batches)
    for batch, part in enumerate(batches, start=state.batch):
        batch_backward(t, part, next(served), sums)
        if part.steps:
            sums.lr = optimizer_step(t, state)
            after_step(t, state, sums, epoch, batch, stop)
    return sums
