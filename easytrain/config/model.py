"""The `model:` section: which network to build. The output layer is sized from the data."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    PositiveInt,
    Tag,
    ValidationInfo,
    field_validator,
)

from easytrain.config.base import Section

Activation = Literal["relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu", "elu"]


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


class ConvLayer(Section):
    channels: PositiveInt
    """Output channels."""
    kernel: PositiveInt = 3
    """Kernel size."""
    stride: PositiveInt = 1
    """Step between kernel positions."""
    padding: Annotated[int, Field(ge=0)] | Literal["same", "valid"] = "valid"
    """Pixels of zero padding, or 'same' to keep the size (stride 1)."""
    activation: Activation | None = "relu"
    """Activation after the convolution (none: null)."""


class PoolLayer(Section):
    size: PositiveInt = 2
    """Window and stride of a max pool."""


class DenseLayer(Section):
    units: PositiveInt
    """Output features."""
    activation: Activation | None = "relu"
    """Activation after the layer (none: null)."""


class DropoutLayer(Section):
    p: float = Field(0.5, ge=0.0, lt=1.0)
    """Probability of zeroing an element."""


class Empty(Section):
    """A layer without settings."""


class ActivationLayer(Section):
    name: Activation
    """relu, gelu, silu, tanh, sigmoid, leaky_relu or elu."""


def _short_form(kind: str, short: dict[str, Any]) -> ConfigDict:
    """Let the JSON Schema accept what `_expand_layer` accepts, e.g. `{pool: 2}`."""

    def extra(schema: dict[str, Any]) -> None:
        schema["properties"][kind] = {"anyOf": [schema["properties"][kind], short]}

    return ConfigDict(json_schema_extra=extra)


class ConvItem(Section):
    conv: ConvLayer
    """A 2-D convolution: `conv: {channels: 32, kernel: 3}`."""


class PoolItem(Section):
    model_config = _short_form("pool", {"type": ["integer", "null"], "minimum": 1})
    pool: PoolLayer
    """Max pooling: `pool: 2`."""


class DenseItem(Section):
    dense: DenseLayer
    """A fully connected layer (flattens image-shaped input): `dense: {units: 128}`."""


class DropoutItem(Section):
    model_config = _short_form(
        "dropout", {"type": ["number", "null"], "minimum": 0, "exclusiveMaximum": 1}
    )
    dropout: DropoutLayer
    """Dropout: `dropout: 0.2`."""


class FlattenItem(Section):
    model_config = _short_form("flatten", {"type": "null"})
    flatten: Empty
    """Flatten to one vector per example: `- flatten`."""


class BatchNormItem(Section):
    model_config = _short_form("batchnorm", {"type": "null"})
    batchnorm: Empty
    """Batch normalization over channels (images) or features: `- batchnorm`."""


class ActivationItem(Section):
    model_config = _short_form("activation", {"enum": list(get_args(Activation))})
    activation: ActivationLayer
    """An activation on its own: `activation: gelu`."""


def _layer_kind(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    return None


Layer = Annotated[
    Annotated[ConvItem, Tag("conv")]
    | Annotated[PoolItem, Tag("pool")]
    | Annotated[DenseItem, Tag("dense")]
    | Annotated[DropoutItem, Tag("dropout")]
    | Annotated[FlattenItem, Tag("flatten")]
    | Annotated[BatchNormItem, Tag("batchnorm")]
    | Annotated[ActivationItem, Tag("activation")],
    Discriminator(_layer_kind),
]
LAYER_KINDS = ("conv", "pool", "dense", "dropout", "flatten", "batchnorm", "activation")
BARE_LAYERS = ("flatten", "batchnorm", "pool", "dropout")  # kinds whose settings all have defaults
_SHORT_FORMS = {
    "pool": "size",
    "dropout": "p",
    "activation": "name",
}  # {pool: 2} → {pool: {size: 2}}


def _expand_layer(item: Any) -> Any:
    """Accept the short forms people write: `flatten`, `{pool: 2}`, `{dropout: 0.2}`."""
    if isinstance(item, str):
        return {item: {}}
    if isinstance(item, dict) and len(item) == 1:
        ((kind, value),) = item.items()
        if value is None:
            return {kind: {}}
        if kind in _SHORT_FORMS and not isinstance(value, dict):
            return {kind: {_SHORT_FORMS[kind]: value}}
    return item


def _bare_layer_names(schema: dict[str, Any]) -> None:
    items = schema["properties"]["layers"]["items"]
    schema["properties"]["layers"]["items"] = {"anyOf": [items, {"enum": list(BARE_LAYERS)}]}


class CNNConfig(Section):
    """A convolutional network from a list of layers; shapes are inferred from the data."""

    model_config = ConfigDict(json_schema_extra=_bare_layer_names)

    type: Literal["cnn"] = "cnn"
    """The model: mlp, cnn, or a registered plugin model."""
    layers: list[Layer] = Field(min_length=1)
    """Layers in order: conv, pool, flatten, dense, dropout, batchnorm, activation."""

    @field_validator("layers", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        return [_expand_layer(item) for item in value] if isinstance(value, list) else value


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
