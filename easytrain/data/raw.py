"""What every data source returns: labels, inputs (or how to make them), and what describes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from easytrain.metrics import TaskKind


@dataclass
class Encoded:
    """Inputs made by an encoder fitted on the training rows only (category lists, vocabularies)."""

    x: np.ndarray
    encoding: dict[str, Any]  # JSON: what predict needs to encode new rows the same way
    feature_names: list[str] | None = None


@dataclass
class RawData:
    # float32 features, uint8 images (n, channels, height, width) or int64 token ids;
    # None when `encode` makes them once the training rows are known.
    x: np.ndarray | None
    y: np.ndarray  # int64 class indices, or float32 regression targets (n,) / (n, k)
    task: TaskKind
    classes: list[str] | None = None  # class names, index = label
    feature_names: list[str] | None = None
    description: str = ""
    encoding: dict[str, Any] = field(default_factory=dict)  # how raw inputs became x, for predict
    # encode(train, rows) fits on the training rows' indices and returns the inputs of `rows`
    # (every row when None), in that order: statistics, categories and vocabularies must never
    # see val or test, and the inputs are built once, already in split order.
    encode: Callable[[np.ndarray, np.ndarray | None], Encoded] | None = None
    # Splits the source made itself (separate folders, an official test set): name → indices.
    fixed: dict[str, np.ndarray] = field(default_factory=dict)
    # Where example i came from, for messages: "data.csv:14", "data/train/cat/3.jpg".
    locate: Callable[[int], str] | None = None
    notes: list[str] = field(default_factory=list)  # said in the run log ("warning: …" first)
    # Splits the source serves itself, read a batch at a time (chat data from the Arrow cache):
    # name → Split; x is then a (0, width) stand-in and y one zero per example.
    served: dict[str, Any] | None = None

    @classmethod
    def of_rows(
        cls,
        y: np.ndarray,
        task: TaskKind,
        classes: list[str] | None,
        path: Any,
        encode: Callable[[np.ndarray, np.ndarray | None], Encoded],
        rows: np.ndarray,
        where_in_file: Callable[[int], str],
        notes: list[str],
    ) -> RawData:
        """A source of one example per file row (tables, texts), encoded once split: example i
        is row rows[i] of the file, named by where_in_file in messages."""
        return cls(
            None,
            y,
            task,
            classes=classes,
            description=str(path),
            encode=encode,
            locate=lambda i: where_in_file(int(rows[i])),
            notes=notes,
        )

    @property
    def input_shape(self) -> tuple[int, ...]:
        assert self.x is not None, "encode first"
        return tuple(self.x.shape[1:])

    def where(self, index: int) -> str:
        return self.locate(index) if self.locate else f"example {index + 1}"
