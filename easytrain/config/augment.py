"""`preprocess.augment:` the random image transforms applied to training batches.

Written like model layers: one kind per item, settings optional (`hflip`, `{rotation: 10}`,
`{random_crop: {padding: 4}}`). No torch here; data/augment.py builds the transforms.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, NonNegativeInt, PositiveInt, Tag

from easytrain.config.base import Section
from easytrain.config.items import bare_names, expand, kind_of, short_form

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Flip(Section):
    p: Probability = 0.5
    """Probability of flipping an image."""


class RandomCrop(Section):
    size: PositiveInt | tuple[PositiveInt, PositiveInt] | None = None
    """[height, width] of the crop (or a square); it must equal the image size. None: the image size."""
    padding: NonNegativeInt = 0
    """Pixels of zero padding on every side before cropping: the crop can shift by this much."""


class Rotation(Section):
    degrees: float = Field(10.0, gt=0.0, le=180.0)
    """Rotate by an angle drawn from [-degrees, degrees]."""


class ColorJitter(Section):
    brightness: float = Field(0.0, ge=0.0)
    """Multiply brightness by a factor drawn from [1 - b, 1 + b]."""
    contrast: float = Field(0.0, ge=0.0)
    """Multiply contrast by a factor drawn from [1 - c, 1 + c]."""
    saturation: float = Field(0.0, ge=0.0)
    """Multiply saturation by a factor drawn from [1 - s, 1 + s] (colour images)."""
    hue: float = Field(0.0, ge=0.0, le=0.5)
    """Shift hue by an amount drawn from [-h, h] (colour images)."""


_FLIP_SHORT = {"type": ["number", "null"], "minimum": 0, "maximum": 1}


class HFlipItem(Section):
    model_config = short_form("hflip", _FLIP_SHORT)
    hflip: Flip
    """Mirror left–right: `- hflip` or `{hflip: {p: 0.3}}`."""


class VFlipItem(Section):
    model_config = short_form("vflip", _FLIP_SHORT)
    vflip: Flip
    """Mirror top–bottom: `- vflip`."""


class RandomCropItem(Section):
    model_config = short_form("random_crop", {"type": "null"})
    random_crop: RandomCrop
    """Pad, then crop at a random place: `{random_crop: {size: 28, padding: 2}}`."""


class RotationItem(Section):
    model_config = short_form("rotation", {"type": ["number", "null"], "exclusiveMinimum": 0})
    rotation: Rotation
    """Rotate by a random angle: `{rotation: {degrees: 10}}` or `{rotation: 10}`."""


class ColorJitterItem(Section):
    model_config = short_form("color_jitter", {"type": "null"})
    color_jitter: ColorJitter
    """Random brightness, contrast, saturation and hue: `{color_jitter: {brightness: 0.2}}`."""


AUGMENT_KINDS = ("hflip", "vflip", "random_crop", "rotation", "color_jitter")
_SHORT_FORMS = {"hflip": "p", "vflip": "p", "rotation": "degrees"}  # {rotation: 10}


Augmentation = Annotated[
    Annotated[HFlipItem, Tag("hflip")]
    | Annotated[VFlipItem, Tag("vflip")]
    | Annotated[RandomCropItem, Tag("random_crop")]
    | Annotated[RotationItem, Tag("rotation")]
    | Annotated[ColorJitterItem, Tag("color_jitter")],
    Discriminator(kind_of),
]


def expand_augmentation(item: Any) -> Any:
    """Accept the short forms: `hflip`, `{hflip: null}`, `{rotation: 10}`."""
    return expand(item, _SHORT_FORMS)


# JSON Schema: an item may also be a bare kind name (`- hflip`); every setting has a default.
bare_augment_names = bare_names("augment", AUGMENT_KINDS)
