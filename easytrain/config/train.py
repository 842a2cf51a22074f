"""The `train:` section: optimisation, schedule, stopping and checkpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationInfo,
    model_validator,
)

from easytrain.config.base import Section
from easytrain.errors import suggest

Loss = Literal["auto", "cross_entropy", "bce", "mse", "l1", "huber"]


def _beta(value: float) -> float:
    if not 0.0 <= value < 1.0:  # torch's Adam refuses anything else, but only once training starts
        raise ValueError(f"a beta must be at least 0 and less than 1, got {value}")
    return value


Beta = Annotated[float, AfterValidator(_beta)]


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


def _precision_name(value: object) -> object:
    """`precision: 32` in YAML is a number; fp32/float32 are common spellings of it too."""
    return {32: "32", "fp32": "32", "float32": "32", "bfloat16": "bf16", "float16": "fp16"}.get(
        value, value
    )


class OptimizerConfig(Section):
    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    """adam, adamw, sgd or rmsprop."""
    lr: PositiveFloat = 1e-3
    """Learning rate (the peak, after warmup)."""
    weight_decay: NonNegativeFloat = 0.0
    """L2 penalty (decoupled for adamw)."""
    weight_decay_exclude_norm: bool = False
    """No weight decay for biases and normalization layers (a parameter group of their own)."""
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    """sgd and rmsprop."""
    nesterov: bool = False
    """sgd: Nesterov momentum."""
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    """adam and adamw: decay rates of the moment estimates."""
    layer_decay: float | None = Field(None, gt=0.0, le=1.0)
    """Pretrained (hf) models: each layer below the top learns at this factor of the one above (lr × decay^depth); none: one rate for all."""


class SchedulerConfig(Section):
    name: Literal[
        "none", "cosine", "linear", "step", "multistep", "exponential", "onecycle", "plateau"
    ] = "cosine"
    """How the learning rate changes: updated every optimizer step (plateau: every epoch)."""
    warmup_epochs: NonNegativeInt = 0
    """Linear warmup from near zero to optimizer.lr over this many epochs."""
    warmup_steps: NonNegativeInt = 0
    """Linear warmup over this many optimizer steps (instead of warmup_epochs)."""
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    """Linear warmup over this share of all optimizer steps (instead of warmup_epochs), e.g. 0.1 for fine-tuning."""
    min_lr: NonNegativeFloat = 0.0
    """cosine, linear: the learning rate reached at the last step."""
    step_size: PositiveInt = 10
    """step: epochs between decays."""
    milestones: list[PositiveInt] = [30, 60]
    """multistep: the epochs at which the learning rate decays."""
    gamma: PositiveFloat = 0.1
    """step, multistep: factor at each decay; exponential: factor per epoch."""
    max_lr: PositiveFloat | None = None
    """onecycle: the peak learning rate (default optimizer.lr)."""
    pct_start: float = Field(0.3, gt=0.0, lt=1.0)
    """onecycle: the share of steps spent increasing the learning rate."""
    factor: float = Field(0.1, gt=0.0, lt=1.0)
    """plateau: factor applied when the monitored value stops improving."""
    patience: NonNegativeInt = 3
    """plateau: epochs without improvement before the learning rate is reduced."""

    @model_validator(mode="after")
    def _one_warmup(self) -> SchedulerConfig:
        if sum(bool(w) for w in (self.warmup_epochs, self.warmup_steps, self.warmup_ratio)) > 1:
            raise ValueError("give one of warmup_epochs, warmup_steps or warmup_ratio")
        if self.name == "onecycle" and (
            self.warmup_epochs or self.warmup_steps or self.warmup_ratio
        ):
            raise ValueError("onecycle warms up by itself (pct_start); remove the warmup")
        return self


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
    """Examples per forward pass (per process)."""
    accumulate: PositiveInt = 1
    """Batches whose gradients are summed before each optimizer step (effective batch × N)."""
    optimizer: OptimizerConfig = OptimizerConfig()
    """The optimizer and its learning rate."""
    scheduler: SchedulerConfig | None = None
    """Learning-rate schedule; none keeps it constant."""
    loss: Loss = "auto"
    """auto: cross_entropy for classification, mse for regression; bce: one logit per example (two classes); l1, huber."""
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    """cross_entropy: share of the target spread over the other classes."""
    class_weights: Literal["auto"] | list[PositiveFloat] | None = None
    """Weigh classes in the loss: auto (inverse frequency in the training split) or one weight per class."""
    huber_delta: PositiveFloat = 1.0
    """huber: where the loss turns from quadratic to linear (standardized units)."""
    grad_clip_norm: PositiveFloat | None = None
    """Clip the gradients' total norm to this value."""
    grad_clip_value: PositiveFloat | None = None
    """Clip each gradient element to ± this value."""
    precision: Annotated[Literal["32", "bf16", "fp16"], BeforeValidator(_precision_name)] = "32"
    """bf16 autocast (CPU and CUDA) or fp16 autocast with a gradient scaler (CUDA)."""
    channels_last: bool = False
    """Channels-last memory format for image models (faster convolutions on recent GPUs)."""
    strategy: Literal["ddp", "fsdp"] = "ddp"
    """With several processes: ddp copies the model to each; fsdp shards parameters, gradients and optimizer state across them (FSDP2), for models that do not fit one device."""
    compile: bool = False
    """torch.compile the model (first steps are slower while it compiles)."""
    deterministic: bool = False
    """Use only deterministic algorithms (slower on GPU; CPU runs are repeatable anyway)."""
    early_stopping: EarlyStoppingConfig | None = None
    """Stop when the monitored value stops improving."""
    monitor: Monitor = "val_loss"
    """What picks checkpoints/best.pt (early_stopping.monitor wins when set)."""
    checkpoint_every_steps: PositiveInt | None = None
    """Also write checkpoints/last.pt every N optimizer steps, so a killed run loses little."""
    log_every_steps: PositiveInt = 50
    """How often the running loss is read from the device (progress bar, NaN check)."""
    tensorboard: bool = True
    """Write TensorBoard event files to tensorboard/."""
