"""Model builders. Each is ``build(config, spec) -> nn.Module`` and sizes itself from the spec."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


@dataclass(frozen=True)
class ModelSpec:
    """What the data tells a model builder: the shape of one input and how many outputs."""

    input_shape: tuple[int, ...]
    num_outputs: int
    task: str
    categories: tuple[int, ...] = ()  # tables, categorical: index: values per trailing column
    vocab_size: int | None = None  # token-id inputs (data.source: text): ids are below this
