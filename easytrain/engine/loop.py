"""The training loop. It reads top to bottom: set up, then per epoch step over its batches
(engine/steps.py) and end the epoch: validate, best checkpoint, log, call back
(engine/epoch_end.py). Batches are sliced out of in-memory tensors (no DataLoader, no
per-example Python), in an order that depends only on (seed, epoch), so a resumed run replays
it exactly."""

from __future__ import annotations

import contextlib
import gc
from contextlib import AbstractContextManager

import torch

from easytrain.config.train import TrainConfig
from easytrain.engine.epoch_end import end_epoch
from easytrain.engine.interrupt import StopRequest
from easytrain.engine.setup import Training, set_up
from easytrain.engine.state import LoopState, restore
from easytrain.engine.steps import train_epoch
from easytrain.engine.writer import background_writes
from easytrain.pipeline.context import RunContext
from easytrain.tracking.tensorboard import TensorBoardLog


def _start(t: Training, resume: bool) -> tuple[LoopState, float]:
    """A fresh state, or the one in checkpoints/last.pt (with the loss summed mid-epoch)."""
    if not resume:
        return LoopState(), 0.0
    state, partial_loss = restore(t.last, t.parts, t.world, t.device)
    t.reporter.info(f"resuming after epoch {state.epoch}, batch {state.batch} (step {state.step})")
    return state, partial_loss


def _tensorboard(t: Training) -> TensorBoardLog | None:
    if not (t.config.tensorboard and t.world.main):
        return None
    return TensorBoardLog(t.run_dir / "tensorboard")


def fit(ctx: RunContext, config: TrainConfig, metric_names: list[str]) -> LoopState:
    t = set_up(ctx, config, metric_names)
    state, partial_loss = _start(t, ctx.resume)
    # Subnormal floats (decaying optimizer moments, tiny gradients) make CPU arithmetic up to 10×
    # slower; flushing them changes nothing training notices. It is process-wide, so only here.
    torch.set_flush_denormal(True)
    # What is alive now (torch's modules, the model, the data) lives through training. Frozen,
    # Python's full collections stop walking those millions of objects: each took ~0.2 s of a
    # small run (digits, 200 epochs: 2-3 of them). Only what training itself allocates is
    # collected; the frozen objects return to the collector when training ends.
    gc.freeze()
    tensorboard = _tensorboard(t)
    # Ctrl-C is caught between steps with one process; with several, the launcher stops them.
    interrupts: AbstractContextManager[StopRequest] = (
        StopRequest() if not t.world.distributed else contextlib.nullcontext(StopRequest())
    )
    try:
        # checkpoints are written on a thread while training goes on; leaving waits for the last
        with background_writes(), interrupts as stop:
            for epoch in range(state.epoch, config.epochs):
                sums = train_epoch(t, state, epoch, partial_loss, stop)
                partial_loss = 0.0  # only a resumed epoch starts part-way
                if end_epoch(t, state, sums, epoch, tensorboard):
                    break
    finally:
        torch.set_flush_denormal(False)
        gc.unfreeze()
        if tensorboard is not None:
            tensorboard.close()
    return state
