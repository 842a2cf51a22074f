"""Load the data source, split it, and standardize with statistics of the training split."""

from __future__ import annotations

import numpy as np
import torch

from easytrain.config.preprocess import PreprocessConfig
from easytrain.context import RunContext
from easytrain.data.bundle import DataBundle, Split
from easytrain.data.raw import RawData
from easytrain.data.split import split_indices
from easytrain.errors import RunFailed


def _statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (tables) or per-channel (images) mean and std of the training inputs."""
    axes = (0,) if x.ndim == 2 else (0, *range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    return mean[0], np.where(std[0] > 1e-8, std[0], 1.0)  # constant features stay as they are


class PreprocessStage:
    def __init__(self, config: PreprocessConfig):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        recipe = ctx.recipe
        raw: RawData = ctx.registry.get("data", recipe.data.source).load()(recipe.data)
        if len(raw.y) == 0:
            raise RunFailed(f"{raw.description}: the data source has no examples")
        parts = split_indices(raw, recipe.data.split, recipe.seed)
        preprocessing: dict = {"input_shape": list(raw.input_shape), "encoding": raw.encoding}
        x = raw.x
        if self.config.normalize:
            mean, std = _statistics(x[parts["train"]])
            x = (x - mean) / std
            preprocessing["normalize"] = {"mean": mean.tolist(), "std": std.tolist()}
        if raw.task == "regression":
            y_train = raw.y[parts["train"]]
            preprocessing["target"] = {
                "mean": float(y_train.mean()),
                "std": float(y_train.std() or 1.0),
            }
        x_all, y_all = (
            torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            torch.from_numpy(raw.y),
        )

        def take(name: str) -> Split | None:
            index = torch.from_numpy(parts[name])
            return Split(x_all[index], y_all[index]) if len(index) else None

        ctx.data = DataBundle(
            train=take("train"),  # type: ignore[arg-type]
            val=take("val"),
            test=take("test"),
            task=raw.task,
            input_shape=raw.input_shape,
            classes=raw.classes,
            feature_names=raw.feature_names,
            description=raw.description,
            preprocessing=preprocessing,
        )
        sizes = ", ".join(f"{name} {len(parts[name])}" for name in ("train", "val", "test"))
        ctx.reporter.info(f"data: {raw.description}, {raw.task}, input {raw.input_shape}, {sizes}")
