"""Pretrained Hugging Face image classifiers (ViT, DeiT, ConvNeXt …) as easytrain models.

AutoModelForImageClassification on the model's folder, with the head sized for the image
folder's classes; pixel values in (prepared with the model's image processor's settings, see
data.hf_images), logits out. Loading, head freezing and LoRA reuse models.hf.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.config.hf import HFConfig
from easytrain.models import ModelSpec


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


def _lora(model: nn.Module, config: HFConfig) -> nn.Module:
    """Adapters on the attention layers (auto: query and value), the new head trained fully."""
    from easytrain.models.hf import _head_names
    from easytrain.models.hf_files import require

    require("peft")
    from peft import LoraConfig, get_peft_model

    lora = config.lora
    names = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    auto = [n for n in ("query", "value", "q_proj", "v_proj", "qkv") if n in names]
    targets = auto if lora.target_modules == "auto" else list(lora.target_modules)
    unknown = [t for t in targets if t not in names]
    if not targets or unknown:
        from easytrain.errors import RecipeError

        raise RecipeError(
            f"model.lora.target_modules: {unknown or 'auto'} matches no layer of this model; name "
            f"its linear layers, e.g. [query, value] (they are: {', '.join(sorted(names))})"
        )
    settings = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,  # type: ignore[arg-type]  # peft says int; it divides by r: a float works
        lora_dropout=lora.dropout,
        target_modules=targets,
        modules_to_save=_head_names(model),
    )
    return get_peft_model(model, settings)


def build_hf_image(
    config: HFConfig,
    spec: ModelSpec,
    encoding: dict[str, Any],
    classes: list[str] | None = None,
    pretrained: bool = True,
) -> HFImageModel:
    """Pretrained weights (or, pretrained=False, the same architecture fresh, to load a
    checkpoint into), with a new head for these classes, frozen or LoRA-wrapped as asked."""
    from easytrain.models.hf import _head_names
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
    if config.trainable == "head":
        heads = _head_names(model)
        for name, p in model.named_parameters():
            p.requires_grad_(name.split(".", 1)[0] in heads)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.trainable == "lora":
        model = _lora(model, config)
    return HFImageModel(model, int(getattr(found, "num_hidden_layers", 0) or 0))


def inner(model: nn.Module) -> HFImageModel | None:
    found = [m for m in model.modules() if isinstance(m, HFImageModel)]
    return found[0] if found else None


def save_folder(model: nn.Module, folder: Path) -> None:
    """export/hf/: config.json, model.safetensors (LoRA merged) and the image processor, which
    transformers loads by itself; written beside and then moved into place."""
    import copy
    import shutil

    from easytrain.data.hf_images import PROCESSOR_DIR, load_processor
    from easytrain.models.hf_files import quiet

    found = inner(model)
    assert found is not None
    network: Any = copy.deepcopy(found.model).cpu()  # transformers / peft: save_pretrained …
    if hasattr(network, "merge_and_unload"):
        network = network.merge_and_unload()
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet():
        network.eval().save_pretrained(tmp)
        load_processor(folder=folder.parent.parent / PROCESSOR_DIR).save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def load_folder(folder: Path, architecture: nn.Module) -> nn.Module:
    """An exported folder loaded by transformers alone, in the run's wrapper (pixels → logits)."""
    from easytrain.models.hf_files import quiet, require

    require()
    from transformers import AutoModelForImageClassification

    with quiet():
        loaded = AutoModelForImageClassification.from_pretrained(
            folder, local_files_only=True, use_safetensors=True
        )
    found = inner(architecture)
    assert found is not None
    found.model = loaded
    return architecture.eval()
