"""Raw arrays → model input tensors, with statistics of the training split only.

Three kinds of input, told apart by dtype: uint8 images (rescaled to [0, 1], normalized per
channel), float features (standardized per feature, or per channel for float images) and
integer token ids (kept as they are).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from easytrain.config.preprocess import PreprocessConfig
from easytrain.data.split import NAMES
from easytrain.errors import RecipeError

CHUNK = 4096  # examples converted at a time: memory holds the uint8 and float copies once


def _statistics(
    x: np.ndarray, rows: np.ndarray, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (tables) or per-channel (images) mean and std of x[rows] * scale.

    Two passes over chunks with float64 sums: exact enough for any size, and never a temporary
    as big as the data (numpy's std of a 1,000,000-row table copied all of it).
    """
    axes = (0,) if x.ndim == 2 else (0, *range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    total, count = np.zeros(shape), 0
    for start in range(0, len(rows), CHUNK):
        chunk = x[rows[start : start + CHUNK]].astype(np.float64) * scale
        total += chunk.sum(axis=axes, keepdims=True)
        count += chunk.size // x.shape[1]
    mean = total / max(count, 1)
    squares = np.zeros(shape)
    for start in range(0, len(rows), CHUNK):
        chunk = x[rows[start : start + CHUNK]].astype(np.float64) * scale
        squares += ((chunk - mean) ** 2).sum(axis=axes, keepdims=True)
    std = np.sqrt(squares / max(count, 1))
    return mean[0], np.where(std[0] > 1e-8, std[0], 1.0)  # constant ones stay as they are


def image_info(x: np.ndarray, train: np.ndarray, config: PreprocessConfig) -> dict[str, Any]:
    """How 8-bit images become inputs: rescaling, and the per-channel statistics (given, or of
    the training images)."""
    channels = x.shape[1]
    info: dict[str, Any] = {"dtype": "float32", "rescale": config.rescale}
    if config.normalize:
        if config.mean is not None and config.std is not None:
            if len(config.mean) != channels:
                raise RecipeError(
                    f"preprocess.mean has {len(config.mean)} values but the images have "
                    f"{channels} channel(s)"
                )
            mean, std = config.mean, config.std
        else:
            scale = 1 / 255 if config.rescale else 1.0
            mean, std = (values.ravel().tolist() for values in _statistics(x, train, scale))
        info["normalize"] = {"mean": mean, "std": std, "per": "channel"}
    return info


def _images(
    x: np.ndarray, order: np.ndarray, train: np.ndarray, config: PreprocessConfig
) -> tuple[torch.Tensor, dict[str, Any]]:
    info = image_info(x, train, config)
    out = torch.empty((len(order), *x.shape[1:]), dtype=torch.float32)
    for start in range(0, len(order), CHUNK):
        out[start : start + CHUNK] = prepare(x[order[start : start + CHUNK]], info)
    return out, info


def _features(
    x: np.ndarray, train_rows: int, config: PreprocessConfig, codes: int = 0
) -> tuple[torch.Tensor, dict[str, Any]]:
    """x (rows in split order, the training rows first; changed in place) standardized."""
    info: dict[str, Any] = {"dtype": "float32"}
    if config.mean is not None:
        raise RecipeError(
            "preprocess.mean/std are for 8-bit images (image_folder, torchvision); "
            "other inputs are standardized with the training split's statistics"
        )
    if config.normalize:
        mean, std = (v.astype(np.float32) for v in _statistics(x, np.arange(train_rows)))
        if codes:  # trailing category numbers (categorical: index) stay numbers
            mean[-codes:], std[-codes:] = 0.0, 1.0
        x -= mean
        x /= std
        per = "feature" if x.ndim == 2 else "channel"
        info["normalize"] = {"mean": mean.tolist(), "std": std.tolist(), "per": per}
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), info


def model_inputs(
    x: np.ndarray,
    parts: dict[str, np.ndarray],
    config: PreprocessConfig,
    codes: int = 0,
    in_order: bool = False,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The input tensor of each split, and what predict needs to do the same (JSON).

    The splits are views of one tensor built in train, val, test order: memory holds the
    inputs once, not once more per split. `in_order`: x already holds the rows in that order
    (an encoder built them so), and float features are standardized in place.
    """
    order = np.concatenate([parts[name] for name in NAMES])
    if in_order:
        x, order = x[: len(order)], np.arange(len(order))
    if x.dtype == np.uint8:
        inputs, info = _images(x, order, parts["train"], config)
    elif np.issubdtype(x.dtype, np.integer):
        if config.mean is not None:
            raise RecipeError("preprocess.mean/std are for images; these inputs are token ids")
        ids = x if in_order else x[order]
        inputs, info = (
            torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64)),
            {"dtype": "int64"},
        )
    else:
        features = (
            x.astype(np.float32, copy=False)
            if in_order
            else x[order].astype(np.float32, copy=False)
        )
        inputs, info = _features(features, len(parts["train"]), config, codes)
    sizes = np.cumsum([0, *(len(parts[name]) for name in NAMES)])
    return {name: inputs[sizes[i] : sizes[i + 1]] for i, name in enumerate(NAMES)}, info


def pixel_scale(info: dict[str, Any]) -> tuple[float, list[float], list[float]] | None:
    """For 8-bit images: (k, mean, std) with pixel / 255 = (input * std + mean) / k."""
    if "rescale" not in info:
        return None
    norm = info.get("normalize") or {"mean": [0.0], "std": [1.0]}
    return (1.0 if info["rescale"] else 255.0), norm["mean"], norm["std"]


def prepare(x: np.ndarray, info: dict[str, Any]) -> torch.Tensor:
    """New raw inputs → model inputs with a run's saved statistics (`info` from model_inputs).

    The same operations, in the same order and precision, as model_inputs: predict gives the
    model what training gave it, bit for bit.
    """
    if "rescale" in info:  # 8-bit images, (n, channels, height, width)
        channels = x.shape[1]
        norm = info.get("normalize") or {"mean": [0.0] * channels, "std": [1.0] * channels}
        shift = torch.tensor(norm["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        spread = torch.tensor(norm["std"], dtype=torch.float32).view(1, -1, 1, 1)
        scale = 1 / 255 if info["rescale"] else 1.0
        return (
            torch.from_numpy(np.ascontiguousarray(x)).float().mul_(scale).sub_(shift).div_(spread)
        )
    if info.get("dtype") == "int64":  # token ids
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64))
    x = np.array(x, dtype=np.float32)  # a copy: standardized in place
    norm = info.get("normalize")
    if norm:
        x -= np.asarray(norm["mean"], dtype=np.float32)
        x /= np.asarray(norm["std"], dtype=np.float32)
    return torch.from_numpy(x)
