"""Setting up training: everything the steps of the loop read, built once from the run context,
so that no step reaches into the context. The order of the calls here is the order of the
original set-up: moving one (say, the optimizer before the model's memory format) could change
the weights a run ends with."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn

from easytrain.config.train import TrainConfig
from easytrain.data.stream import EpochBatches, ImageStream
from easytrain.engine import rng
from easytrain.engine.batches import token_lengths
from easytrain.engine.distributed import parallel
from easytrain.engine.optim import build_optimizer, training_loss
from easytrain.engine.precision import Precision
from easytrain.engine.schedule import Schedule
from easytrain.engine.state import Trainables
from easytrain.engine.world import World
from easytrain.errors import RunFailed
from easytrain.metrics.monitor import monitor_mode
from easytrain.pipeline.context import RunContext

if TYPE_CHECKING:
    from easytrain.data.bundle import DataBundle, Split, SplitInputs
    from easytrain.metrics import TaskKind
    from easytrain.registry import Registry
    from easytrain.tracking.console import Reporter


@dataclass(frozen=True)
class Monitor:
    """The logged column that picks the best epoch and stops early, and which way is better."""

    name: str
    mode: str  # "min" | "max"
    min_delta: float = 0.0
    patience: int | None = None  # early stopping: epochs without improvement; None: never stop

    def improved(self, value: float, best: float | None) -> bool:
        if best is None or math.isnan(best):
            return not math.isnan(value)
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta


def choose_monitor(config: TrainConfig, has_val: bool, registry: Registry) -> Monitor:
    """train.early_stopping's monitor, else train.monitor; train_loss when there is no val split."""
    stopping = config.early_stopping
    name = stopping.monitor if stopping else config.monitor
    mode = monitor_mode(name, stopping.mode if stopping else "auto", registry)
    if not has_val and name.startswith("val_"):
        name, mode = "train_loss", "min"
    if stopping is None:
        return Monitor(name, mode)
    return Monitor(name, mode, stopping.min_delta, stopping.patience)


@dataclass
class Training:
    """One training run, set up: what the loop's steps read (and the parts whose state they change)."""

    config: TrainConfig
    world: World
    device: torch.device
    seed: int
    run_dir: Path
    reporter: Reporter
    model: nn.Module
    forward: nn.Module  # the model as trained: itself, or wrapped (DDP, torch.compile)
    loss_fn: nn.Module
    parts: Trainables
    params: list[nn.Parameter]  # clipping skips those without a gradient (frozen)
    x: SplitInputs  # on the device, unless streamed
    y: torch.Tensor
    stream: EpochBatches | None  # a streamed split's batches, from workers
    channels_last: bool
    batch_size: int  # the global batch; each process takes a share
    draw_weights: torch.Tensor | None  # a balanced sampler's per-example weights
    augment: Callable[[torch.Tensor], torch.Tensor] | None
    set_epoch: Callable[[int], None] | None  # e.g. a backbone that unfreezes later
    monitor: Monitor
    val: Split | None
    task: TaskKind
    metric_names: list[str]
    registry: Registry
    recipe: str  # the resolved recipe as JSON, saved in every checkpoint
    on_epoch: Callable[[dict[str, float]], None] | None  # easytrain tune: report; may prune
    lengths: torch.Tensor | None = None  # token ids padded with -1: real tokens per row (CPU)
    # a loss that averages over items within examples (label tokens): each example's (CPU)
    items: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def batches(self) -> int:
        return math.ceil(self.n / self.batch_size)

    @property
    def loss_items(self) -> int:
        """What the epoch's training loss is the mean over: examples, or label tokens."""
        return self.n if self.items is None else int(self.items.sum())

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.batches / self.config.accumulate)

    @property
    def sharded(self) -> bool:
        """fsdp over several processes: every process takes part in validation and checkpoints."""
        return self.world.distributed and self.config.strategy == "fsdp"

    @property
    def last(self) -> Path:
        return self.run_dir / "checkpoints" / "last.pt"

    @property
    def best(self) -> Path:
        return self.run_dir / "checkpoints" / "best.pt"


def _compiled(model: nn.Module, probe: torch.Tensor) -> nn.Module:
    """torch.compile, tried on a real batch now, so that 'unsupported' is said at the start."""
    try:
        compiled = torch.compile(model)
        compiled(probe)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFailed(
            f"train.compile: torch.compile does not work here ({reason}); set train.compile=false"
        ) from None
    return cast(nn.Module, compiled)  # an OptimizedModule, called like the model


def _inputs(
    data: DataBundle, model: nn.Module, config: TrainConfig, device: torch.device
) -> tuple[SplitInputs, torch.Tensor, EpochBatches | None, nn.Module, bool]:
    """The training split on the device (a stream stays put: its batches come from workers), in
    channels-last memory format where the recipe asks for it."""
    x, y = data.train.x, data.train.y.to(device)
    stream = x.loader(pin_memory=device.type == "cuda") if isinstance(x, ImageStream) else None
    if isinstance(x, torch.Tensor) or hasattr(x, "token_lengths"):  # data.chat_rows: batches
        x = cast(Any, x).to(device)  # made on the device
    channels_last = config.channels_last and x.ndim == 4
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        if isinstance(x, torch.Tensor):
            x = x.contiguous(memory_format=torch.channels_last)
    return x, y, stream, model, channels_last


def _trainables(
    model: nn.Module, config: TrainConfig, steps_per_epoch: int, device: torch.device
) -> Trainables:
    optimizer = build_optimizer(model, config.optimizer)
    schedule = Schedule(config.scheduler, optimizer, steps_per_epoch, config.epochs)
    return Trainables(
        model, optimizer, schedule, Precision(config.precision, device), config.strategy
    )


def set_up(ctx: RunContext, config: TrainConfig, metric_names: list[str]) -> Training:
    """Inputs on the device, the loss, the (wrapped) model, optimizer, schedule and precision."""
    assert ctx.model is not None and ctx.data is not None, (
        "the preprocess and model stages run first"
    )
    data, device, world = ctx.data, ctx.device, ctx.world
    x, y, stream, model, channels_last = _inputs(data, ctx.model, config, device)
    batch_size = config.batch_size * world.size
    steps_per_epoch = math.ceil(math.ceil(len(y) / batch_size) / config.accumulate)
    loss_fn = training_loss(config, data, device)
    forward = parallel(model, config.strategy, world, device)  # fsdp shards before the optimizer
    parts = _trainables(model, config, steps_per_epoch, device)
    if config.compile:
        forward = _compiled(forward, x[: config.batch_size].to(device))
    balanced = ctx.recipe.data.sampler == "balanced"
    return Training(
        config=config,
        world=world,
        device=device,
        seed=ctx.recipe.seed,
        run_dir=ctx.run_dir,
        reporter=ctx.reporter,
        model=model,
        forward=forward,
        loss_fn=loss_fn,
        parts=parts,
        params=list(model.parameters()),
        x=x,
        y=y,
        stream=stream,
        channels_last=channels_last,
        batch_size=batch_size,
        draw_weights=rng.balanced_weights(data.train.y) if balanced else None,
        augment=data.train_transform,
        set_epoch=getattr(model, "set_epoch", None),
        monitor=choose_monitor(config, data.val is not None, ctx.registry),
        val=data.val,
        task=data.task,
        metric_names=metric_names,
        registry=ctx.registry,
        recipe=ctx.recipe.model_dump_json(),
        on_epoch=ctx.on_epoch,
        lengths=token_lengths(data.train.x),
        items=_loss_items(loss_fn, y),
    )


def _loss_items(loss_fn: nn.Module, y: torch.Tensor) -> torch.Tensor | None:
    """Each example's loss items, for a loss that says (LMLoss: label tokens); else None."""
    count = getattr(loss_fn, "items", None)
    return None if count is None else count(y).cpu()
