"""The `preprocess:` section."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, PositiveFloat, field_validator, model_validator

from easytrain.config.augment import Augmentation, bare_augment_names, expand_augmentation
from easytrain.config.base import Section


class PreprocessConfig(Section):
    """Turns raw examples into model inputs; what it learns is saved for predict."""

    model_config = ConfigDict(json_schema_extra=bare_augment_names)

    type: Literal["default"] = "default"
    """The preprocess stage implementation."""
    normalize: bool = True
    """Standardize inputs (images: per channel) with statistics of the training split only."""
    rescale: bool = True
    """Images: divide 8-bit pixel values by 255, to [0, 1], before normalizing."""
    mean: list[float] | None = None
    """Images: per-channel means to normalize with (after rescale), instead of the training split's."""
    std: list[PositiveFloat] | None = None
    """Images: per-channel standard deviations, given with mean."""
    augment: list[Augmentation] = Field(default_factory=list)
    """Images: random transforms of each training example: hflip, vflip, random_crop, rotation, color_jitter."""

    @field_validator("augment", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        return [expand_augmentation(item) for item in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _mean_with_std(self) -> PreprocessConfig:
        if (self.mean is None) != (self.std is None):
            raise ValueError("give mean and std together (one number per channel), or neither")
        if self.mean is not None and self.std is not None and len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std)}")
        return self
