"""The `train:` section: optimisation, schedule, stopping and checkpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    ValidationInfo,
)

from easytrain.config.base import Section
from easytrain.registry import suggest

Loss = Literal["auto", "cross_entropy", "mse", "l1", "huber"]


def _logged_value(monitor: str, info: ValidationInfo) -> str:
    """A column of metrics.csv: train_loss, val_loss or val_<metric>."""
    registry = (info.context or {}).get("registry")
    if registry is None:
        return monitor
    columns = ["train_loss", "val_loss", *(f"val_{m}" for m in registry.names("metric"))]
    if monitor not in columns:
        raise ValueError(
            f"'{monitor}' is not a logged value{suggest(monitor, columns)}; "
            "use train_loss, val_loss or val_<metric>"
        )
    return monitor


Monitor = Annotated[str, AfterValidator(_logged_value)]


class OptimizerConfig(Section):
    name: Literal["adam", "adamw", "sgd"] = "adam"
    """adam, adamw or sgd."""
    lr: PositiveFloat = 1e-3
    """Learning rate."""
    weight_decay: NonNegativeFloat = 0.0
    """L2 penalty (decoupled for adamw)."""
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    """sgd only."""


class SchedulerConfig(Section):
    name: Literal["none", "cosine", "step", "exponential"] = "cosine"
    """How the learning rate changes per epoch."""
    step_size: PositiveInt = 10
    """step: epochs between decays."""
    gamma: PositiveFloat = 0.1
    """step/exponential: factor applied at each decay."""
    min_lr: NonNegativeFloat = 0.0
    """cosine: the learning rate reached at the last epoch."""


class EarlyStoppingConfig(Section):
    monitor: Monitor = "val_loss"
    """A logged column of metrics.csv: val_loss, train_loss or val_<metric>."""
    patience: PositiveInt = 5
    """Epochs without improvement before stopping."""
    mode: Literal["auto", "min", "max"] = "auto"
    """Whether lower or higher is better; auto knows every built-in metric."""
    min_delta: NonNegativeFloat = 0.0
    """The least change that counts as an improvement."""


class TrainConfig(Section):
    """Supervised training with mini-batches."""

    type: Literal["default"] = "default"
    """The train stage implementation."""
    epochs: PositiveInt = 10
    """Passes over the training split."""
    batch_size: PositiveInt = 64
    """Examples per optimisation step."""
    optimizer: OptimizerConfig = OptimizerConfig()
    """The optimizer and its learning rate."""
    scheduler: SchedulerConfig | None = None
    """Learning-rate schedule; none keeps it constant."""
    loss: Loss = "auto"
    """auto: cross-entropy for classification, MSE for regression."""
    early_stopping: EarlyStoppingConfig | None = None
    """Stop when the monitored value stops improving."""
    monitor: Monitor = "val_loss"
    """What picks checkpoints/best.pt (early_stopping.monitor wins when set)."""
