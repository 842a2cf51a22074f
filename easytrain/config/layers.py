"""The layers of `model: {type: cnn, layers: [...]}`: each item is one kind with its settings.

Short forms are accepted (`- flatten`, `{pool: 2}`, `{dropout: 0.2}`, `{global_pool: avg}`) and
the JSON Schema says so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, PositiveInt, Tag

from easytrain.config.base import Section
from easytrain.config.items import bare_names, expand, kind_of, short_form

Activation = Literal["relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu", "elu"]
Padding = Annotated[int, Field(ge=0)] | Literal["same", "valid"]


class ConvLayer(Section):
    channels: PositiveInt
    """Output channels."""
    kernel: PositiveInt = 3
    """Kernel size."""
    stride: PositiveInt = 1
    """Step between kernel positions."""
    padding: Padding = "valid"
    """Pixels of zero padding, or 'same' to keep the size (stride 1)."""
    activation: Activation | None = "relu"
    """Activation after the convolution (none: null)."""


class DepthwiseConvLayer(Section):
    kernel: PositiveInt = 3
    """Kernel size."""
    multiplier: PositiveInt = 1
    """Output channels per input channel."""
    stride: PositiveInt = 1
    """Step between kernel positions."""
    padding: Padding = "same"
    """Pixels of zero padding, or 'same' to keep the size (stride 1)."""
    activation: Activation | None = "relu"
    """Activation after the convolution (none: null)."""


class ResidualLayer(Section):
    channels: PositiveInt
    """Output channels of the block."""
    kernel: PositiveInt = 3
    """Kernel size of both convolutions."""
    stride: PositiveInt = 1
    """Stride of the first convolution (2 halves the size); the shortcut follows with a 1×1 conv."""


class PoolLayer(Section):
    size: PositiveInt = 2
    """Window and stride of a max pool."""


class GlobalPoolLayer(Section):
    mode: Literal["avg", "max"] = "avg"
    """Average or maximum over all positions: one value per channel."""


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


class ConvItem(Section):
    conv: ConvLayer
    """A 2-D convolution: `conv: {channels: 32, kernel: 3}`."""


class SeparableConvItem(Section):
    separable_conv: ConvLayer
    """A depthwise then a 1×1 pointwise convolution (MobileNet style): `separable_conv: {channels: 64}`."""


class DepthwiseConvItem(Section):
    model_config = short_form("depthwise_conv", {"type": "null"})
    depthwise_conv: DepthwiseConvLayer
    """One filter per input channel: `depthwise_conv: {kernel: 3}`."""


class ResidualItem(Section):
    residual: ResidualLayer
    """A residual block (conv-bn-relu-conv-bn plus shortcut, then relu): `residual: {channels: 64}`."""


class PoolItem(Section):
    model_config = short_form("pool", {"type": ["integer", "null"], "minimum": 1})
    pool: PoolLayer
    """Max pooling: `pool: 2`."""


class GlobalPoolItem(Section):
    model_config = short_form("global_pool", {"enum": ["avg", "max", None]})
    global_pool: GlobalPoolLayer
    """Pool each channel to one value: `global_pool: avg`."""


class DenseItem(Section):
    dense: DenseLayer
    """A fully connected layer (flattens image-shaped input): `dense: {units: 128}`."""


class DropoutItem(Section):
    model_config = short_form(
        "dropout", {"type": ["number", "null"], "minimum": 0, "exclusiveMaximum": 1}
    )
    dropout: DropoutLayer
    """Dropout: `dropout: 0.2`."""


class FlattenItem(Section):
    model_config = short_form("flatten", {"type": "null"})
    flatten: Empty
    """Flatten to one vector per example: `- flatten`."""


class BatchNormItem(Section):
    model_config = short_form("batchnorm", {"type": "null"})
    batchnorm: Empty
    """Batch normalization over channels (images) or features: `- batchnorm`."""


class ActivationItem(Section):
    model_config = short_form("activation", {"enum": list(get_args(Activation))})
    activation: ActivationLayer
    """An activation on its own: `activation: gelu`."""


ITEMS: dict[str, type[Section]] = {
    "conv": ConvItem,
    "separable_conv": SeparableConvItem,
    "depthwise_conv": DepthwiseConvItem,
    "residual": ResidualItem,
    "pool": PoolItem,
    "global_pool": GlobalPoolItem,
    "dense": DenseItem,
    "dropout": DropoutItem,
    "flatten": FlattenItem,
    "batchnorm": BatchNormItem,
    "activation": ActivationItem,
}
LAYER_KINDS = tuple(ITEMS)
BARE_LAYERS = ("flatten", "batchnorm", "pool", "dropout", "global_pool", "depthwise_conv")
_SHORT_FORMS = {"pool": "size", "dropout": "p", "activation": "name", "global_pool": "mode"}


Layer = Annotated[
    Annotated[ConvItem, Tag("conv")]
    | Annotated[SeparableConvItem, Tag("separable_conv")]
    | Annotated[DepthwiseConvItem, Tag("depthwise_conv")]
    | Annotated[ResidualItem, Tag("residual")]
    | Annotated[PoolItem, Tag("pool")]
    | Annotated[GlobalPoolItem, Tag("global_pool")]
    | Annotated[DenseItem, Tag("dense")]
    | Annotated[DropoutItem, Tag("dropout")]
    | Annotated[FlattenItem, Tag("flatten")]
    | Annotated[BatchNormItem, Tag("batchnorm")]
    | Annotated[ActivationItem, Tag("activation")],
    Discriminator(kind_of),
]


def expand_layer(item: Any) -> Any:
    """Accept the short forms people write: `flatten`, `{pool: 2}`, `{dropout: 0.2}`."""
    return expand(item, _SHORT_FORMS)


bare_layer_names = bare_names("layers", BARE_LAYERS)
