"""Pretrained Hugging Face models as ordinary easytrain models: token ids in, logits out.

The calls into transformers and peft live here, in models/hf_files.py (where the files come
from) and models/hf_adapt.py (what the model kinds share: `trainable: head` and `layers` freeze
the rest of the pretrained model, `lora` wraps it with peft before the optimizer is built, and
export/hf/ is written with the adapters merged into the weights).

Inputs are token ids right-padded with -1 (see data.hf_text): the attention mask is `ids >= 0`,
so a batch trimmed to its longest text needs nothing else beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.config.hf import HFConfig
from easytrain.errors import RunFailed
from easytrain.models import ModelSpec
from easytrain.models import hf_adapt as adapt
from easytrain.models.hf_files import (
    PAD,
    config_from_dict,
    load_config,
    load_tokenizer,
    model_folder,
    quiet,
    require,
    size_head,
)

__all__ = ["PAD", "HFTextModel", "build", "build_hf", "load_tokenizer", "save_hf_folder"]


# the model ---------------------------------------------------------------------------------
class HFTextModel(nn.Module):
    """A transformers sequence classifier called like any easytrain model: ids → logits."""

    variable_length = True  # exports: the sequence dimension is dynamic too

    def __init__(self, model: nn.Module, pad_token_id: int, layers: int):
        super().__init__()
        self.model = model
        self.pad_token_id, self.layers = pad_token_id, layers

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids >= 0
        ids = torch.where(mask, ids, self.pad_token_id)
        # on the meta device (a dry run) no mask: transformers reads its values to skip it
        attention = None if ids.is_meta else mask.long()
        return self.model(input_ids=ids, attention_mask=attention).logits

    def layer_depths(self) -> dict[int, int]:
        """Each parameter's depth below the head (optimizer.layer_decay): the head and the last
        layer 0 and 1 …, the embeddings deepest."""
        depths = {}
        for name, p in self.model.named_parameters():
            found = adapt.BLOCK.search(name)
            if found:
                depths[id(p)] = self.layers - int(found.group(1))
            elif "embed" in name:
                depths[id(p)] = self.layers + 1
            else:
                depths[id(p)] = 0
        return depths


def build_hf(
    config: HFConfig,
    spec: ModelSpec,
    encoding: dict[str, Any],
    classes: list[str] | None = None,
    pretrained: bool = True,
) -> HFTextModel:
    """The model for this data: pretrained weights (or, pretrained=False, the same architecture
    fresh, to load a checkpoint into), then frozen / LoRA-wrapped, as config.trainable says."""
    require()
    from transformers import AutoModelForSequenceClassification

    saved = encoding.get("model_config")
    if pretrained or saved is None:
        found = load_config(config, spec, classes)
    else:
        found = config_from_dict(saved)
        size_head(found, config, spec, classes)
    with quiet():
        if pretrained:
            model = AutoModelForSequenceClassification.from_pretrained(
                model_folder(config),
                config=found,
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=config.trust_remote_code,
                ignore_mismatched_sizes=True,
            )
        else:
            model = AutoModelForSequenceClassification.from_config(
                found, trust_remote_code=config.trust_remote_code
            )
    adapt.freeze(model, config, adapt.head_names(model))
    if config.gradient_checkpointing:
        adapt.checkpointing(model)
    if config.trainable == "lora":
        model = adapt.lora(model, config, "SEQ_CLS", keep=adapt.head_names(model))
    layers = int(getattr(found, "num_hidden_layers", 0) or 0)
    return HFTextModel(model, int(encoding.get("pad_token_id", 0)), layers)


def build(config: HFConfig, spec: ModelSpec) -> HFTextModel:
    """The registry's builder (a plugin calling it gets pretrained weights)."""
    return build_hf(config, spec, {})


# export ------------------------------------------------------------------------------------
def _inner(model: nn.Module) -> HFTextModel:
    """The HFTextModel in model (which may wrap it, e.g. TargetScale for regression)."""
    found = [m for m in model.modules() if isinstance(m, HFTextModel)]
    if not found:
        raise RunFailed("export hf: the model is not a Hugging Face model (model.type: hf)")
    return found[0]


def merged(model: nn.Module) -> Any:  # a transformers model (save_pretrained …)
    """The transformers model with any LoRA adapters merged into its weights (a copy)."""
    return adapt.merged(_inner(model).model)


def save_hf_folder(model: nn.Module, folder: Path) -> None:
    """export/hf/: a folder transformers loads by itself (config.json, model.safetensors and the
    tokenizer, from the run folder's tokenizer/), written beside and then moved into place."""

    def write(tmp: Path) -> None:
        merged(model).save_pretrained(tmp)
        load_tokenizer(folder=folder.parent.parent / "tokenizer").save_pretrained(tmp)

    adapt.write_folder(folder, write)


def load_hf_folder(folder: Path, architecture: nn.Module) -> nn.Module:
    """An exported folder loaded by transformers alone, in the run's wrapper (ids → logits)."""
    _inner(architecture).model = adapt.load_exported(folder, "AutoModelForSequenceClassification")
    return architecture.eval()
