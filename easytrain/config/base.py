"""The base of every recipe section: strict, documented by attribute docstrings."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


MAX_SEED = 2**32 - 1


def _seed(seed: int) -> int:
    if not 0 <= seed <= MAX_SEED:  # numpy and scikit-learn take no other seeds
        raise ValueError(f"a seed is a whole number from 0 to {MAX_SEED}, got {seed}")
    return seed


Seed = Annotated[int, AfterValidator(_seed)]


class Section(BaseModel):
    """A part of a recipe. Unknown keys are errors; every field is documented in the schema."""

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        validate_assignment=True,
        allow_inf_nan=False,  # nan or inf in a recipe is a typo, and breaks training later
    )
