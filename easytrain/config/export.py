"""The `export:` section. Leave it out and nothing is exported."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from easytrain.config.base import Section

ExportFormat = Literal["pt2", "torchscript", "state_dict"]


class ExportConfig(Section):
    """Formats the trained model is saved in under export/, each checked against the model."""

    type: Literal["default"] = "default"
    """The export stage implementation."""
    formats: list[ExportFormat] = Field(default=["pt2"], min_length=1)
    """pt2 (torch.export), torchscript (deprecated by PyTorch), state_dict."""
    tolerance: float = Field(1e-4, gt=0)
    """The largest absolute difference allowed between an export and the model on real inputs."""
