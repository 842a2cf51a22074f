"""The linear probe itself: imported only when a run builds the model."""

from __future__ import annotations

from math import prod

from torch import nn

from easytrain_testplugin.config import LinearProbeConfig


def build(config: LinearProbeConfig, spec) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(prod(spec.input_shape), spec.num_outputs, bias=config.bias)
    )
