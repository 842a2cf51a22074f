"""Pretrained Hugging Face image classifiers (ViT, DeiT, ConvNeXt …) as easytrain models.

AutoModelForImageClassification on the model's folder, with the head sized for the image
folder's classes; pixel values in (prepared with the model's image processor's settings, see
data.hf_images), logits out. Freezing, LoRA and the export are models.hf_adapt's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.config.hf import HFConfig
from easytrain.models import ModelSpec

LORA_AUTO = ("query", "value", "q_proj", "v_proj", "qkv")  # the attention layers' names


class HFImageModel(nn.Module):
    """A transformers image classifier called like any easytrain model: pixels → logits."""

    def __init__(self, model: nn.Module, layers: int):
        super().__init__()
        self.model = model
        self.layers = layers

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixels).logits

    def layer_depths(self) -> dict[int, int]:
        """Each parameter's depth below the head (optimizer.layer_decay), as for text models."""
        from easytrain.models.hf import HFTextModel

        return HFTextModel.layer_depths(self)  # type: ignore[arg-type]


def build_hf_image(
    config: HFConfig,
    spec: ModelSpec,
    encoding: dict[str, Any],
    classes: list[str] | None = None,
    pretrained: bool = True,
) -> HFImageModel:
    """Pretrained weights (or, pretrained=False, the same architecture fresh, to load a
    checkpoint into), with a new head for these classes, frozen or LoRA-wrapped as asked."""
    from easytrain.models import hf_adapt as adapt
    from easytrain.models.hf_files import (
        config_from_dict,
        load_config,
        model_folder,
        quiet,
        require,
        size_head,
    )

    require()
    from transformers import AutoModelForImageClassification

    saved = encoding.get("model_config")
    if pretrained or saved is None:
        found = load_config(config, spec, classes)
    else:
        found = config_from_dict(saved)
        size_head(found, config, spec, classes)
    with quiet():
        if pretrained:
            model = AutoModelForImageClassification.from_pretrained(
                model_folder(config),
                config=found,
                local_files_only=True,
                use_safetensors=True,
                ignore_mismatched_sizes=True,
            )
        else:
            model = AutoModelForImageClassification.from_config(found)
    adapt.freeze(model, config, adapt.head_names(model))
    if config.gradient_checkpointing:
        adapt.checkpointing(model)
    if config.trainable == "lora":  # auto: adapters on the attention layers (query and value)
        model = adapt.lora(model, config, auto=LORA_AUTO, keep=adapt.head_names(model))
    return HFImageModel(model, int(getattr(found, "num_hidden_layers", 0) or 0))


def inner(model: nn.Module) -> HFImageModel | None:
    found = [m for m in model.modules() if isinstance(m, HFImageModel)]
    return found[0] if found else None


def save_folder(model: nn.Module, folder: Path) -> None:
    """export/hf/: config.json, model.safetensors (LoRA merged) and the image processor, which
    transformers loads by itself; written beside and then moved into place."""
    from easytrain.data.hf_images import PROCESSOR_DIR, load_processor
    from easytrain.models import hf_adapt as adapt

    found = inner(model)
    assert found is not None

    def write(tmp: Path) -> None:
        adapt.merged(found.model).save_pretrained(tmp)
        load_processor(folder=folder.parent.parent / PROCESSOR_DIR).save_pretrained(tmp)

    adapt.write_folder(folder, write)


def load_folder(folder: Path, architecture: nn.Module) -> nn.Module:
    """An exported folder loaded by transformers alone, in the run's wrapper (pixels → logits)."""
    from easytrain.models.hf_adapt import load_exported

    found = inner(architecture)
    assert found is not None
    found.model = load_exported(folder, "AutoModelForImageClassification")
    return architecture.eval()
