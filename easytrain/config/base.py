"""The base of every recipe section: strict, documented by the docstring under each field."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from easytrain.config.fielddocs import describe

MAX_SEED = 2**32 - 1


def _seed(seed: int) -> int:
    if not 0 <= seed <= MAX_SEED:  # numpy and scikit-learn take no other seeds
        raise ValueError(f"a seed is a whole number from 0 to {MAX_SEED}, got {seed}")
    return seed


Seed = Annotated[int, AfterValidator(_seed)]


class Section(BaseModel):
    """A part of a recipe. Unknown keys are errors; every field is documented in the schema."""

    # The docstring under each field is its description (config/fielddocs.py puts it there,
    # from a table made ahead of time: pydantic's use_attribute_docstrings parses the sources at
    # import). defer_build lets that happen before the schema is built, and spares `validate`
    # the schemas that a recipe does not use.
    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        validate_assignment=True,
        allow_inf_nan=False,  # nan or inf in a recipe is a typo, and breaks training later
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        describe(cls)
