"""Learning-rate schedules from torch.optim.lr_scheduler, with linear warmup, stepped per
optimizer step (ReduceLROnPlateau: per epoch, on the monitored value)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim import lr_scheduler as sched

from easytrain.config.train import SchedulerConfig


class Schedule:
    """Steps torch's schedulers at the right moments; one state_dict for the checkpoint."""

    def __init__(
        self,
        config: SchedulerConfig | None,
        optimizer: torch.optim.Optimizer,
        steps_per_epoch: int,
        epochs: int,
    ):
        self.per_step: sched.LRScheduler | None = None
        self.plateau: sched.ReduceLROnPlateau | None = None
        if config is None or config.name == "none":
            return
        total = steps_per_epoch * epochs
        warmup = (
            config.warmup_steps
            or config.warmup_epochs * steps_per_epoch
            or round(config.warmup_ratio * total)
        )
        warmup = min(warmup, max(total - 1, 0))
        main = self._main(config, optimizer, steps_per_epoch, total - warmup)
        if warmup == 0:
            self.per_step = main
            return
        ramp = sched.LinearLR(optimizer, start_factor=1 / (warmup + 1), total_iters=warmup)
        if main is None:  # plateau: warm up per step, then reduce per epoch
            self.per_step = ramp
        else:
            self.per_step = sched.SequentialLR(optimizer, [ramp, main], milestones=[warmup])

    def _main(
        self,
        config: SchedulerConfig,
        optimizer: torch.optim.Optimizer,
        steps_per_epoch: int,
        steps: int,
    ) -> sched.LRScheduler | None:
        if config.name == "cosine":
            return sched.CosineAnnealingLR(optimizer, T_max=max(steps, 1), eta_min=config.min_lr)
        if config.name == "linear":  # to min_lr at the last step (per group: layer decay)
            peak = optimizer.param_groups[0]["lr"]
            return sched.LinearLR(
                optimizer,
                start_factor=1.0,
                end_factor=config.min_lr / peak,
                total_iters=max(steps, 1),
            )
        if config.name == "step":
            return sched.StepLR(optimizer, config.step_size * steps_per_epoch, config.gamma)
        if config.name == "multistep":
            milestones = [m * steps_per_epoch for m in config.milestones]
            return sched.MultiStepLR(optimizer, milestones, config.gamma)
        if config.name == "exponential":  # the factor applies once per epoch
            return sched.StepLR(optimizer, steps_per_epoch, config.gamma)
        if config.name == "onecycle":
            peak = config.max_lr or optimizer.param_groups[0]["lr"]
            return sched.OneCycleLR(
                optimizer, max_lr=peak, total_steps=max(steps, 2), pct_start=config.pct_start
            )
        self.plateau = sched.ReduceLROnPlateau(
            optimizer, mode="min", factor=config.factor, patience=config.patience
        )
        return None

    def after_step(self) -> None:
        if self.per_step is not None:
            self.per_step.step()

    def after_epoch(self, value: float, mode: str) -> None:
        """Plateau only: feed it the monitored value (negated when higher is better)."""
        if self.plateau is not None and not math.isnan(value):
            self.plateau.step(value if mode == "min" else -value)

    def state_dict(self) -> dict[str, Any]:
        return {
            "per_step": self.per_step.state_dict() if self.per_step else None,
            "plateau": self.plateau.state_dict() if self.plateau else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.per_step is not None and state.get("per_step") is not None:
            self.per_step.load_state_dict(state["per_step"])
        if self.plateau is not None and state.get("plateau") is not None:
            self.plateau.load_state_dict(state["plateau"])
