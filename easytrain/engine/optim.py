"""Optimizer and loss, built from the `train:` section."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from easytrain.config.train import OptimizerConfig, TrainConfig
from easytrain.errors import RecipeError

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


def _depths(model: nn.Module, params: list[nn.Parameter]) -> dict[int, int] | None:
    """Each parameter's depth below the top (0: the head), from a model that knows its layers
    (`layer_depths()`, e.g. models.hf), for optimizer.layer_decay; None when it does not."""
    for module in model.modules():
        depths = getattr(module, "layer_depths", None)
        if callable(depths):
            return depths()
    return None


def parameter_groups(model: nn.Module, config: OptimizerConfig) -> list[dict]:
    """One group, two when biases and normalization weights are spared weight decay, and one
    per layer (and decay) with layer_decay: lr × decay^depth, the top layer's group first."""
    # Every parameter, frozen ones too: they have no gradient, so the optimizer skips them until
    # they are unfrozen (train.unfreeze_after), without a new optimizer or a break in its state.
    params = list(model.parameters())
    spared: set[int] = set()
    if config.weight_decay_exclude_norm and config.weight_decay:
        spared = {
            id(p)
            for module in model.modules()
            for name, p in module.named_parameters(recurse=False)
            if isinstance(module, _NORMS) or name == "bias"
        }
    depths = _depths(model, params) if config.layer_decay is not None else None
    if depths is None and config.layer_decay is not None:
        raise RecipeError(
            "train.optimizer.layer_decay: this model has no numbered layers; it is for "
            "pretrained (model.type: hf) models"
        )
    groups: dict[tuple[int, bool], list[nn.Parameter]] = {}
    for p in params:
        key = ((depths or {}).get(id(p), 0), id(p) in spared)
        groups.setdefault(key, []).append(p)
    out = []
    for (depth, no_decay), members in sorted(groups.items()):
        group: dict = {"params": members}
        if no_decay:
            group["weight_decay"] = 0.0
        if depths is not None:
            group["lr"] = config.lr * config.layer_decay**depth  # type: ignore[operator]
        out.append(group)
    return out


def build_optimizer(model: nn.Module, config: OptimizerConfig) -> torch.optim.Optimizer:
    groups, lr, decay = parameter_groups(model, config), config.lr, config.weight_decay
    if config.name == "sgd":
        return torch.optim.SGD(
            groups, lr=lr, weight_decay=decay, momentum=config.momentum, nesterov=config.nesterov
        )
    if config.name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, weight_decay=decay, momentum=config.momentum)
    optimizer = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[config.name]
    return optimizer(groups, lr=lr, weight_decay=decay, betas=config.betas)


class StandardizedLoss(nn.Module):
    """Regression loss in standardized units: the model outputs real units (see TargetScale),
    but the loss sees targets of unit variance, so learning rates work whatever the scale."""

    def __init__(self, base: nn.Module, mean: float, std: float):
        super().__init__()
        self.base, self.mean, self.std = base, mean, std

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.ndim == target.ndim + 1 and output.shape[-1] == 1:
            output = output.squeeze(-1)
        return self.base((output - self.mean) / self.std, (target - self.mean) / self.std)


class BinaryLoss(nn.Module):
    """Binary cross-entropy on one logit per example; the sigmoid lives in the loss, never in the model."""

    def __init__(self, pos_weight: torch.Tensor | None):
        super().__init__()
        self.loss = nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(output.squeeze(-1), target.to(output.dtype))


def loss_name(config: TrainConfig, task: str) -> str:
    if config.loss == "auto":
        return "cross_entropy" if task == "classification" else "mse"
    return config.loss


def class_weights(
    config: TrainConfig, train_y: torch.Tensor, num_classes: int
) -> torch.Tensor | None:
    """Per-class loss weights: inverse frequency in the training split, or as given."""
    if config.class_weights is None:
        return None
    if config.class_weights == "auto":
        counts = torch.bincount(train_y.cpu(), minlength=num_classes).float()
        return counts.sum() / (num_classes * counts.clamp(min=1))
    if len(config.class_weights) != num_classes:
        raise RecipeError(
            f"train.class_weights: {len(config.class_weights)} weights for {num_classes} classes"
        )
    return torch.tensor(config.class_weights, dtype=torch.float32)


def build_loss(
    config: TrainConfig,
    task: str,
    target: dict[str, float] | None,
    weights: torch.Tensor | None = None,
) -> nn.Module:
    if task == "language_model":  # next-token cross-entropy on the label tokens
        from easytrain.models.hf_causal import LMLoss

        return LMLoss()
    name = loss_name(config, task)
    if name == "cross_entropy":
        return nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)
    if name == "bce":
        pos_weight = None if weights is None else weights[1] / weights[0]
        return BinaryLoss(pos_weight)
    if name == "huber":
        base: nn.Module = nn.HuberLoss(delta=config.huber_delta)
    else:
        base = {"mse": nn.MSELoss, "l1": nn.L1Loss}[name]()
    mean, std = (target["mean"], target["std"]) if target else (0.0, 1.0)
    return StandardizedLoss(base, mean, std)


def training_loss(config: TrainConfig, data: Any, device: torch.device) -> nn.Module:
    """The loss the train stage optimises, for val/test too, so that their losses compare."""
    weights = class_weights(config, data.train.y, len(data.classes)) if data.classes else None
    target = data.preprocessing.target
    return build_loss(
        config,
        data.task,
        target.model_dump() if target else None,
        None if weights is None else weights.to(device),
    )


def output_count(config: TrainConfig, task: str, classes: list[str] | None, targets: int) -> int:
    """Outputs of the model: one logit per class, one for bce, one per regression target."""
    if loss_name(config, task) == "bce":
        if classes is None or len(classes) != 2:
            found = "a regression target" if classes is None else f"{len(classes)} classes"
            raise RecipeError(f"train.loss: bce is for two classes, but the data has {found}")
        return 1
    return len(classes) if classes is not None else targets
