"""Learning-rate curves: linear warmup, then each schedule's own shape, step by step."""

from __future__ import annotations

import math

import pytest
import torch

from easytrain.config.train import SchedulerConfig
from easytrain.engine.schedule import Schedule

LR, STEPS_PER_EPOCH, EPOCHS = 0.1, 10, 6


def curve(config: SchedulerConfig, monitored: list[float] | None = None) -> list[list[float]]:
    """The learning rate of every step, grouped by epoch, as the training loop would see it."""
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=LR)
    schedule = Schedule(config, optimizer, STEPS_PER_EPOCH, EPOCHS)
    epochs = []
    for epoch in range(EPOCHS):
        lrs = []
        for _ in range(STEPS_PER_EPOCH):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.after_step()
        epochs.append(lrs)
        schedule.after_epoch(monitored[epoch] if monitored else 1.0, "min")
    return epochs


def flat(epochs: list[list[float]]) -> list[float]:
    return [lr for epoch in epochs for lr in epoch]


@pytest.mark.parametrize("name", ["cosine", "step", "multistep", "exponential", "plateau"])
def test_warmup_rises_linearly_to_the_learning_rate(name: str) -> None:
    lrs = flat(curve(SchedulerConfig(name=name, warmup_steps=5)))
    ramp = lrs[:6]
    assert ramp == pytest.approx([LR * (i + 1) / 6 for i in range(6)])
    assert max(lrs) == pytest.approx(LR)


def test_warmup_epochs_counts_whole_epochs() -> None:
    lrs = flat(curve(SchedulerConfig(name="cosine", warmup_epochs=2)))
    assert lrs[0] < lrs[10] < lrs[19] < lrs[20] == pytest.approx(LR)


def test_cosine_falls_to_min_lr_at_the_last_step() -> None:
    lrs = flat(curve(SchedulerConfig(name="cosine", min_lr=0.001)))
    assert lrs[0] == pytest.approx(LR)
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    halfway = (LR + 0.001) / 2
    assert lrs[len(lrs) // 2] == pytest.approx(halfway, rel=1e-6)
    assert lrs[-1] == pytest.approx(0.001 + (LR - 0.001) * (1 + math.cos(math.pi * 59 / 60)) / 2)


def test_step_and_multistep_and_exponential_decay_at_epoch_boundaries() -> None:
    step = curve(SchedulerConfig(name="step", step_size=2, gamma=0.5))
    assert [epoch[0] for epoch in step] == pytest.approx([LR, LR, LR / 2, LR / 2, LR / 4, LR / 4])
    multi = curve(SchedulerConfig(name="multistep", milestones=[1, 4], gamma=0.1))
    assert [epoch[0] for epoch in multi] == pytest.approx(
        [LR, LR / 10, LR / 10, LR / 10, LR / 100, LR / 100]
    )
    expo = curve(SchedulerConfig(name="exponential", gamma=0.9))
    assert [epoch[0] for epoch in expo] == pytest.approx([LR * 0.9**e for e in range(EPOCHS)])
    assert all(len(set(epoch)) == 1 for epoch in step + multi + expo)  # constant within an epoch


def test_onecycle_peaks_at_pct_start_and_ends_low() -> None:
    lrs = flat(curve(SchedulerConfig(name="onecycle", pct_start=0.25, max_lr=0.5)))
    peak = lrs.index(max(lrs))
    assert max(lrs) == pytest.approx(0.5)
    assert abs(peak - 0.25 * (len(lrs) - 1)) <= 1
    assert lrs[-1] < lrs[0] < 0.5


def test_plateau_reduces_only_after_patience_epochs_without_improvement() -> None:
    monitored = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9]  # improves once, then stalls
    epochs = curve(SchedulerConfig(name="plateau", patience=2, factor=0.5), monitored)
    # epochs 3 and 4 are tolerated; the third stalled epoch (5) reduces the rate for epoch 6
    assert [epoch[0] for epoch in epochs] == pytest.approx([LR, LR, LR, LR, LR, LR / 2])


def test_no_scheduler_keeps_the_learning_rate() -> None:
    assert set(flat(curve(SchedulerConfig(name="none")))) == {LR}
