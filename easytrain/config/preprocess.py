"""The `preprocess:` section."""

from __future__ import annotations

from typing import Literal

from easytrain.config.base import Section


class PreprocessConfig(Section):
    """Turns raw examples into model inputs; what it learns is saved for predict."""

    type: Literal["default"] = "default"
    """The preprocess stage implementation."""
    normalize: bool = True
    """Standardize inputs with statistics from the training split only."""
