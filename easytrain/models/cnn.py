"""The layer-list builder: each layer's input size is read off the output of the one before."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from easytrain.config.model import CNNConfig
from easytrain.errors import RecipeError
from easytrain.models import ACTIVATIONS, ModelSpec


class ResidualBlock(nn.Module):
    """conv-bn-relu-conv-bn plus a shortcut (1×1 conv where the shape changes), then relu."""

    def __init__(self, channels_in: int, channels: int, kernel: int, stride: int):
        super().__init__()
        pad = kernel // 2
        self.body = nn.Sequential(
            nn.Conv2d(channels_in, channels, kernel, stride, pad, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel, 1, pad, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or channels_in != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels_in, channels, 1, stride, bias=False), nn.BatchNorm2d(channels)
            )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


def _activation(name: str | None) -> list[nn.Module]:
    return [ACTIVATIONS[name]()] if name else []


IMAGE_ONLY = {"conv", "separable_conv", "depthwise_conv", "residual", "pool", "global_pool"}


def _layer(kind: str, spec: Any, shape: tuple[int, ...]) -> list[nn.Module]:  # noqa: C901
    """The modules for one layer of the list, given the shape of one input to it."""
    if kind in IMAGE_ONLY and len(shape) != 3:
        raise ValueError(f"{kind} needs image input (channels, height, width), got {shape}")
    channels = shape[0]
    if kind == "conv":
        conv = nn.Conv2d(channels, spec.channels, spec.kernel, spec.stride, spec.padding)
        return [conv, *_activation(spec.activation)]
    if kind == "separable_conv":
        depthwise = nn.Conv2d(
            channels, channels, spec.kernel, spec.stride, spec.padding, groups=channels
        )
        return [depthwise, nn.Conv2d(channels, spec.channels, 1), *_activation(spec.activation)]
    if kind == "depthwise_conv":
        conv = nn.Conv2d(
            channels,
            channels * spec.multiplier,
            spec.kernel,
            spec.stride,
            spec.padding,
            groups=channels,
        )
        return [conv, *_activation(spec.activation)]
    if kind == "residual":
        return [ResidualBlock(channels, spec.channels, spec.kernel, spec.stride)]
    if kind == "pool":
        return [nn.MaxPool2d(spec.size)]
    if kind == "global_pool":
        pool = nn.AdaptiveAvgPool2d(1) if spec.mode == "avg" else nn.AdaptiveMaxPool2d(1)
        return [pool, nn.Flatten()]
    if kind == "flatten":
        return [nn.Flatten()]
    if kind == "dense":
        flatten = [nn.Flatten()] if len(shape) > 1 else []  # nobody computes a flatten size by hand
        return [*flatten, nn.Linear(math.prod(shape), spec.units), *_activation(spec.activation)]
    if kind == "dropout":
        return [nn.Dropout(spec.p)]
    if kind == "batchnorm":
        return [nn.BatchNorm2d(channels) if len(shape) == 3 else nn.BatchNorm1d(channels)]
    if kind == "activation":
        return [ACTIVATIONS[spec.name]()]
    raise ValueError(f"unknown layer kind {kind}")


def build(config: CNNConfig, spec: ModelSpec) -> nn.Module:
    shape = spec.input_shape
    probe = torch.zeros(2, *shape)
    modules: list[nn.Module] = []
    for index, item in enumerate(config.layers):
        kind = next(iter(type(item).model_fields))
        try:
            new = _layer(kind, getattr(item, kind), shape)
            with torch.no_grad():
                for module in new:  # eval mode: probing must not touch batch-norm statistics
                    probe = module.eval()(probe)
                    module.train()
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
