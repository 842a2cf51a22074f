"""Causal language models (model.type hf with data.source chat): token ids in, next-token logits out.

The inputs are data.chat's: ids right-padded with -1, and in packed rows each id carries its
example's number in the high bits (id + example × SEGMENT). A packed row gets a block-diagonal
causal attention mask and positions that restart at every example, so it computes what its
examples would one by one. The loss is the mean cross-entropy over the label tokens (-100: none).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from easytrain.config.hf import HFConfig
from easytrain.data.chat import IGNORE, SEGMENT, TOKENIZER_DIR
from easytrain.errors import RecipeError
from easytrain.models import hf_adapt as adapt
from easytrain.models.hf_files import (
    config_from_dict,
    load_config,
    load_tokenizer,
    model_folder,
    quiet,
    require,
)

if TYPE_CHECKING:
    from easytrain.data.bundle import SplitInputs


def packed_inputs(
    x: torch.Tensor, pad_token_id: int, dtype: torch.dtype, packed: bool | None = None
) -> dict[str, Any]:
    """The model's keyword inputs for our ids: a 2-D mask, or for packed rows a 4-D additive
    mask (each token sees its own example's earlier tokens) and restarting positions.

    packed: False for data that is never packed; None reads the ids' high bits to tell, which
    on a GPU waits for it (one sync per batch)."""
    valid = x >= 0
    ids = torch.where(valid, x if packed is False else x % SEGMENT, pad_token_id)
    if ids.is_meta:
        return {"input_ids": ids}
    if packed is False or not bool((x >= SEGMENT).any()):
        return {"input_ids": ids, "attention_mask": valid.long()}
    segment = torch.where(valid, x // SEGMENT, -1)
    width = x.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool, device=x.device).tril()
    same = (segment[:, :, None] == segment[:, None, :]) & causal & valid[:, None, :]
    same |= torch.eye(width, dtype=torch.bool, device=x.device)  # padding sees itself: no NaN
    positions = (same.long().sum(-1) - 1).clamp(min=0)
    mask = torch.zeros(same.shape, dtype=dtype, device=x.device)
    mask.masked_fill_(~same, torch.finfo(dtype).min)
    return {"input_ids": ids, "attention_mask": mask[:, None], "position_ids": positions}


class HFCausalModel(nn.Module):
    """A transformers causal LM called like any easytrain model: ids → (batch, length, vocab)."""

    variable_length = True

    def __init__(
        self, model: nn.Module, pad_token_id: int, layers: int, packed: bool | None = None
    ):
        super().__init__()
        self.model: Any = model  # a transformers model: get_input_embeddings, generate …
        self.pad_token_id, self.layers = pad_token_id, layers
        self.packed = packed  # False: rows are never packed (no read-back per batch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = self.model.get_input_embeddings().weight.dtype
        dtype = dtype if dtype.is_floating_point else torch.float32
        return self.model(**packed_inputs(x, self.pad_token_id, dtype, self.packed)).logits

    def layer_depths(self) -> dict[int, int]:
        depths = {}
        for name, p in self.model.named_parameters():
            found = adapt.BLOCK.search(name)
            depths[id(p)] = self.layers - int(found.group(1)) if found else 0
        return depths


class LMLoss(nn.Module):
    """Mean next-token cross-entropy over the label tokens; labels are trimmed to the batch."""

    def sums(self, logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed loss, label tokens) of each example."""
        labels = labels[:, : logits.shape[1]][:, 1:]
        logits = logits[:, :-1].float()
        losses = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=IGNORE,
            reduction="none",
        ).view(labels.shape)
        return losses.sum(1), (labels != IGNORE).sum(1)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        total, count = self.sums(logits, labels)
        return total.sum() / count.sum().clamp(min=1)

    def items(self, labels: torch.Tensor) -> torch.Tensor:
        """Label tokens of each example: what the loss is the mean over, so that the training
        loop weights each batch of a step by its tokens (engine.steps), not by its examples."""
        counted = getattr(labels, "label_tokens", None)  # rows of the chat cache: its counts
        return counted() if counted is not None else (labels[:, 1:] != IGNORE).sum(1)


@torch.no_grad()
def token_losses(
    model: nn.Module, x: SplitInputs, y: torch.Tensor, batch_size: int, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """Each example's summed loss and label-token count, batched, each batch cut to its longest."""
    was_training = model.training
    model.eval()
    loss, totals, counts = LMLoss(), [], []
    for i in range(0, len(x), batch_size):
        batch = x[i : i + batch_size]
        width = max(int((batch >= 0).sum(1).max()), 2)
        total, count = loss.sums(
            model(batch[:, :width].to(device)), y[i : i + batch_size].to(device)
        )
        totals.append(total.double().cpu())
        counts.append(count.cpu())
    model.train(was_training)
    return torch.cat(totals).numpy(), torch.cat(counts).numpy()


def _quantization(config: HFConfig, device: torch.device) -> Any:
    """bitsandbytes' settings for model.quantize; refused unless the run itself is on CUDA
    (a machine's GPU does not help a run on its CPU: device: cpu, --device cpu)."""
    if config.quantize == "none":
        return None
    if device.type != "cuda":
        raise RecipeError(
            f"model.quantize: {config.quantize} base weights need a CUDA GPU (bitsandbytes), "
            f"and this run is on {device}; run on CUDA (device: auto or cuda) or set "
            "model.quantize: none"
        )
    require("bitsandbytes")
    from transformers import BitsAndBytesConfig

    if config.quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
    )


def build_causal(
    config: HFConfig,
    encoding: dict[str, Any],
    pretrained: bool = True,
    device: torch.device | None = None,
    packed: bool | None = None,
) -> HFCausalModel:
    """The language model, pretrained (or fresh, pretrained=False, to load a checkpoint into),
    then LoRA-wrapped or trained whole as config.trainable says (head: the output layer only).
    device: the run's (None: the CPU); a quantized base is loaded straight onto it. packed:
    False when the data is never packed (data.packing false), None to tell batch by batch."""
    require()
    from transformers import AutoModelForCausalLM

    saved = encoding.get("model_config")
    found = load_config(config) if pretrained or saved is None else config_from_dict(saved)
    device = device or torch.device("cpu")
    quantized = _quantization(config, device)
    with quiet():
        if pretrained:
            model = AutoModelForCausalLM.from_pretrained(
                model_folder(config),
                config=found,
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=config.trust_remote_code,
                quantization_config=quantized,
                dtype=torch.bfloat16 if quantized is not None else None,
                device_map={"": str(device)} if quantized is not None else None,
            )
        else:
            model = AutoModelForCausalLM.from_config(
                found, trust_remote_code=config.trust_remote_code
            )
    adapt.freeze(model, config, adapt.output_head(model), top_level=False)
    if config.gradient_checkpointing:
        adapt.checkpointing(model, cache_off=False, inputs_need_grad=config.trainable == "lora")
    if config.trainable == "lora":
        model = adapt.lora(model, config, "CAUSAL_LM")
    layers = int(getattr(found, "num_hidden_layers", 0) or 0)
    return HFCausalModel(model, int(encoding.get("pad_token_id", 0)), layers, packed)


# export ------------------------------------------------------------------------------------
def inner(model: nn.Module) -> HFCausalModel | None:
    """The HFCausalModel in model, if it is a language model."""
    return next((m for m in model.modules() if isinstance(m, HFCausalModel)), None)


def save_folder(model: nn.Module, folder: Path) -> None:
    """export/hf/: the merged model (LoRA folded into the weights) as a folder that
    AutoModelForCausalLM.from_pretrained and LLM servers load alone (config.json,
    model.safetensors, generation_config.json, the tokenizer with its chat template); and for
    a LoRA run export/adapter/: the adapter alone, in peft's format, to load onto the base."""
    found = inner(model)
    assert found is not None
    tokenizer = load_tokenizer(folder=folder.parent.parent / TOKENIZER_DIR)

    def write(tmp: Path) -> None:
        adapted = adapt.merged(found.model, adapter=folder.with_name("adapter"))
        adapted.generation_config.pad_token_id = tokenizer.pad_token_id
        adapted.generation_config.eos_token_id = tokenizer.eos_token_id
        adapted.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)

    adapt.write_folder(folder, write)


def load_folder(folder: Path, architecture: nn.Module) -> nn.Module:
    """An exported folder loaded by transformers alone, in the run's wrapper (ids → logits)."""
    found = inner(architecture)
    assert found is not None
    found.model = adapt.load_exported(folder, "AutoModelForCausalLM")
    return architecture.eval()
