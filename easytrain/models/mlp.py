"""Multi-layer perceptron."""

from __future__ import annotations

import math

from torch import nn

from easytrain.config.model import MLPConfig
from easytrain.models import ACTIVATIONS, ModelSpec


def build(config: MLPConfig, spec: ModelSpec) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(spec.input_shape)
    for hidden in config.hidden:
        layers += [nn.Linear(width, hidden), ACTIVATIONS[config.activation]()]
        if config.dropout:
            layers.append(nn.Dropout(config.dropout))
        width = hidden
    layers.append(nn.Linear(width, spec.num_outputs))
    return nn.Sequential(*layers)
