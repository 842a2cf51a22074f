"""Multi-layer perceptron, optionally with normalization and skip connections."""

from __future__ import annotations

import math

import torch
from torch import nn

from easytrain.config.model import MLPConfig
from easytrain.models import ACTIVATIONS, ModelSpec


class Residual(nn.Module):
    """x + block(x): a skip connection around one hidden layer."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _hidden(width_in: int, width: int, config: MLPConfig) -> list[nn.Module]:
    """linear → norm → activation → dropout; wrapped in a skip connection when asked and possible."""
    norm = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}.get(config.norm)
    modules = [
        nn.Linear(width_in, width),
        *([norm(width)] if norm else []),
        ACTIVATIONS[config.activation](),
        *([nn.Dropout(config.dropout)] if config.dropout else []),
    ]
    if config.residual and width_in == width:
        return [Residual(nn.Sequential(*modules))]
    return modules  # flat: the same modules a hand-written nn.Sequential would have


def build(config: MLPConfig, spec: ModelSpec) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(spec.input_shape)
    for hidden in config.hidden:
        layers += _hidden(width, hidden, config)
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, spec.num_outputs))
