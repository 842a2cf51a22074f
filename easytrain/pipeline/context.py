"""What flows between the stages of one run. Each stage fills in its part, in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from easytrain.config.recipe import Recipe
from easytrain.engine.world import World
from easytrain.registry import Registry

if TYPE_CHECKING:
    import torch
    from torch import nn

    from easytrain.data.bundle import DataBundle
    from easytrain.metrics.gates import Gate
    from easytrain.tracking.console import Reporter


@dataclass
class RunContext:
    recipe: Recipe
    run_dir: Path
    device: torch.device
    registry: Registry
    reporter: Reporter
    resume: bool = False
    world: World = World()  # this process among those training together
    # called with each epoch's logged row on rank 0; may raise errors.Pruned (easytrain tune)
    on_epoch: Callable[[dict[str, float]], None] | None = None
    data: DataBundle | None = None  # preprocess
    model: nn.Module | None = None  # model
    model_summary: str = ""  # model
    history: list[dict[str, float]] = field(default_factory=list)  # train
    best_epoch: int | None = None  # train
    epochs_done: int = 0  # train: epochs finished so far, kept when the run is interrupted
    class_weights: dict[str, float] | None = None  # train: those class_weights: auto computed
    metrics: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # evaluate: split → name → value
    gates: list[Gate] = field(default_factory=list)  # evaluate
    threshold: float | None = None  # evaluate: two classes, the decision threshold used
    # evaluate: JSON tables for summary.json: per_class, confusion_matrix, threshold, data
    evaluation: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # every stage: name → path in run_dir
    timings: dict[str, float] = field(default_factory=dict)  # stage → seconds
