"""The `model:` section: which network to build. The output layer is sized from the data."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    field_validator,
)

from easytrain.config.base import Section
from easytrain.config.layers import Activation, Layer, bare_layer_names, expand_layer


class MLPConfig(Section):
    """A multi-layer perceptron; image inputs are flattened first."""

    type: Literal["mlp"] = "mlp"
    """The model: mlp, cnn, or a registered plugin model."""
    hidden: list[PositiveInt] = [256, 256]
    """Width of each hidden layer."""
    activation: Activation = "relu"
    """Activation after each hidden layer."""
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    """Dropout probability after each hidden layer."""
    norm: Literal["none", "batch", "layer"] = "none"
    """Normalization after each hidden layer's linear map: batch or layer norm."""
    residual: bool = False
    """Add each hidden layer's input to its output where the widths match (skip connections)."""


class CNNConfig(Section):
    """A convolutional network from a list of layers; shapes are inferred from the data."""

    model_config = ConfigDict(json_schema_extra=bare_layer_names)

    type: Literal["cnn"] = "cnn"
    """The model: mlp, cnn, or a registered plugin model."""
    layers: list[Layer] = Field(min_length=1)
    """Layers in order: conv, separable_conv, depthwise_conv, residual, pool, global_pool, flatten, dense, dropout, batchnorm, activation."""

    @field_validator("layers", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        return [expand_layer(item) for item in value] if isinstance(value, list) else value


class EmbeddingBagConfig(Section):
    """Text: the mean of the token embeddings (padding ignored), then an MLP. Fast and strong."""

    type: Literal["embedding_bag"] = "embedding_bag"
    """The model: mlp, cnn, or a registered plugin model."""
    embed_dim: PositiveInt = 64
    """Size of each token's embedding vector."""
    hidden: list[PositiveInt] = [64]
    """Width of each hidden layer after the pooled embedding; [] for a linear classifier."""
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    """Dropout probability on the pooled embedding and after each hidden layer."""


IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class TabularConfig(Section):
    """Tables: one embedding per categorical column, concatenated with the numeric columns, then an MLP. Use with data.categorical: index."""

    type: Literal["tabular"] = "tabular"
    """The model: mlp, cnn, lstm, gru, transformer, tabular, … or a torchvision model."""
    embed_dim: PositiveInt | None = None
    """Embedding size per categorical column; default min(16, (categories + 1) // 2)."""
    hidden: list[PositiveInt] = [128, 64]
    """Width of each hidden layer."""
    activation: Literal["relu", "gelu", "silu"] = "relu"
    """Activation after each hidden layer."""
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    """Dropout after the embeddings and each hidden layer."""


class CustomModelConfig(Section):
    """Your own nn.Module, named by import path. Only with --allow-code."""

    union_tag: ClassVar[str] = "import-path"

    type: str
    """'package.module:ClassName'."""
    args: dict[str, Any] = {}
    """Keyword arguments for the class."""

    @field_validator("type")
    @classmethod
    def _allowed(cls, value: str, info: ValidationInfo) -> str:
        if not (info.context or {}).get("allow_code"):
            raise ValueError(
                f"'{value}' is a Python import path; a recipe can only run code you allow "
                "with --allow-code"
            )
        if not IMPORT_PATH.match(value):
            raise ValueError(f"'{value}' is not an import path like 'package.module:ClassName'")
        return value
