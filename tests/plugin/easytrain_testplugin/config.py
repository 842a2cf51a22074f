"""The linear probe's recipe section. Imported by validate and schema, so no torch here."""

from __future__ import annotations

from typing import Literal

from easytrain.config.base import Section


class LinearProbeConfig(Section):
    """One linear layer on the flattened input."""

    type: Literal["linear_probe"] = "linear_probe"
    """The model: linear_probe, from easytrain-testplugin."""
    bias: bool = True
    """Whether the linear probe layer learns an additive bias term."""
