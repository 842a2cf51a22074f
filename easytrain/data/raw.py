"""What every data source returns: examples as numpy arrays plus what describes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from easytrain.metrics import TaskKind


@dataclass
class RawData:
    x: np.ndarray  # float32, (n, *input_shape)
    y: np.ndarray  # int64 class indices, or float32 regression targets (n,) / (n, k)
    task: TaskKind
    classes: list[str] | None = None  # class names, index = label
    feature_names: list[str] | None = None
    description: str = ""
    encoding: dict[str, Any] = field(default_factory=dict)  # how raw inputs became x, for predict

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])
