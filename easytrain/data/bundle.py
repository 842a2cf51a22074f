"""Tensors ready for training, and everything needed to prepare new inputs the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from easytrain.data.preprocessing import Preprocessing
from easytrain.metrics import TaskKind


class SplitInputs(Protocol):
    """What a split's inputs offer wherever the code takes either kind: a tensor held whole, or
    an ImageStream (data/stream.py) that makes the inputs of the rows asked for from 8-bit
    images. Indexing gives a tensor either way; code that needs the whole tensor checks
    `isinstance(x, torch.Tensor)`."""

    @property
    def shape(self) -> torch.Size: ...

    @property
    def ndim(self) -> int: ...

    @property
    def dtype(self) -> torch.dtype: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: Any, /) -> torch.Tensor: ...

    def is_floating_point(self) -> bool: ...

    def element_size(self) -> int: ...


@dataclass
class Split:
    x: SplitInputs  # a tensor, or an ImageStream: the inputs of the rows asked for, made on demand
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class DataBundle:
    train: Split
    val: Split | None
    test: Split | None
    task: TaskKind
    input_shape: tuple[int, ...]
    classes: list[str] | None = None
    feature_names: list[str] | None = None
    description: str = ""
    preprocessing: Preprocessing = field(default_factory=Preprocessing)  # what predict needs
    # Applied to each training batch on the device (augmentation); never to val/test.
    train_transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    # data.resample: {method, before, after} class counts of the training split (summary.json)
    resampled: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.preprocessing, dict):  # as preprocessing.json holds it
            self.preprocessing = Preprocessing.model_validate(self.preprocessing)

    @property
    def num_outputs(self) -> int:
        if self.classes is not None:
            return len(self.classes)
        return 1 if self.train.y.ndim == 1 else int(self.train.y.shape[1])

    def split(self, name: str) -> Split | None:
        return {"train": self.train, "val": self.val, "test": self.test}[name]
