"""Optimizer, learning-rate schedule and loss, built from the `train:` section."""

from __future__ import annotations

import torch
from torch import nn

from easytrain.config.train import OptimizerConfig, SchedulerConfig, TrainConfig


def build_optimizer(model: nn.Module, config: OptimizerConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.name == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    optimizer = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[config.name]
    return optimizer(params, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: SchedulerConfig | None, epochs: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A per-epoch schedule, or None for a constant learning rate."""
    if config is None or config.name == "none":
        return None
    if config.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=epochs, eta_min=config.min_lr
        )
    if config.name == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.step_size, gamma=config.gamma
        )
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.gamma)


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


def build_loss(config: TrainConfig, task: str, target: dict[str, float] | None) -> nn.Module:
    name = config.loss
    if name == "auto":
        name = "cross_entropy" if task == "classification" else "mse"
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()
    base = {"mse": nn.MSELoss, "l1": nn.L1Loss, "huber": nn.HuberLoss}[name]()
    mean, std = (target["mean"], target["std"]) if target else (0.0, 1.0)
    return StandardizedLoss(base, mean, std)
