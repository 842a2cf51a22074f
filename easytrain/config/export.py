"""The `export:` section. Leave it out and nothing is exported."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from easytrain.config.base import Section

ExportFormat = Literal["pt2", "onnx", "torchscript", "state_dict", "hf"]
# The lowest opset torch.onnx's exporter writes natively; lower ones are converted afterwards.
DEFAULT_OPSET = 18


class ExportConfig(Section):
    """Formats the trained model is saved in under export/, each checked against the model."""

    type: Literal["default"] = "default"
    """The export stage implementation."""
    formats: list[ExportFormat] = Field(default=["pt2"], min_length=1)
    """pt2 (torch.export), onnx (checked with ONNX Runtime; needs easytrain[onnx]), torchscript (deprecated by PyTorch), state_dict, hf (model.type hf: a Hugging Face folder, LoRA merged, tokenizer included)."""
    opset: int = Field(DEFAULT_OPSET, ge=7)
    """onnx: the ONNX opset. 18 and up are written directly; lower ones are converted, which some models do not survive."""
    tolerance: float = Field(1e-4, gt=0)
    """The largest absolute difference allowed between an export's outputs and the model's on real inputs (regression: in standard deviations of the target)."""
