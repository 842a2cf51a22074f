"""The layer-list builder: each layer's input size is read off the output of the one before."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from easytrain.config.model import CNNConfig
from easytrain.errors import RecipeError
from easytrain.models import ACTIVATIONS, ModelSpec


def _layer(kind: str, spec: Any, shape: tuple[int, ...]) -> list[nn.Module]:  # noqa: C901
    """The modules for one layer of the list, given the shape of one input to it."""
    if kind in ("conv", "pool") and len(shape) != 3:
        raise ValueError(f"{kind} needs image input (channels, height, width), got {shape}")
    if kind == "conv":
        modules: list[nn.Module] = [
            nn.Conv2d(shape[0], spec.channels, spec.kernel, spec.stride, spec.padding)
        ]
        return modules + ([ACTIVATIONS[spec.activation]()] if spec.activation else [])
    if kind == "pool":
        return [nn.MaxPool2d(spec.size)]
    if kind == "flatten":
        return [nn.Flatten()]
    if kind == "dense":
        flatten = [nn.Flatten()] if len(shape) > 1 else []  # nobody computes a flatten size by hand
        width = math.prod(shape)
        act = [ACTIVATIONS[spec.activation]()] if spec.activation else []
        return [*flatten, nn.Linear(width, spec.units), *act]
    if kind == "dropout":
        return [nn.Dropout(spec.p)]
    if kind == "batchnorm":
        return [nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])]
    if kind == "activation":
        return [ACTIVATIONS[spec.name]()]
    raise ValueError(f"unknown layer kind {kind}")


def build(config: CNNConfig, spec: ModelSpec) -> nn.Module:
    shape = spec.input_shape
    probe = torch.zeros(2, *shape)  # two examples so that batch norm can run in training mode
    modules: list[nn.Module] = []
    for index, item in enumerate(config.layers):
        kind = next(iter(type(item).model_fields))
        try:
            new = _layer(kind, getattr(item, kind), shape)
            with torch.no_grad():
                for module in new:
                    probe = module(probe)
        except (ValueError, RuntimeError) as exc:
            reason = str(exc).splitlines()[0]
            raise RecipeError(
                f"model.layers.{index} ({kind}): cannot take input of shape {shape}: {reason}"
            ) from None
        modules += new
        shape = tuple(probe.shape[1:])
    if len(shape) > 1:
        modules.append(nn.Flatten())
    modules.append(nn.Linear(math.prod(shape), spec.num_outputs))
    return nn.Sequential(*modules)
