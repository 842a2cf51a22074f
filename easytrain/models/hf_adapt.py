"""What the Hugging Face model kinds (text and image classifiers, language models) do alike to a
loaded transformers model: which of its weights train (`trainable: head`, `layers`, `lora`),
gradient checkpointing, and the exported folder (adapters merged, written beside, then moved in).

One function per piece, so a transformers or peft call that moves between versions moves here once.
"""

from __future__ import annotations

import copy
import re
import shutil
import warnings
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from torch import nn

from easytrain.config.hf import HFConfig
from easytrain.errors import RecipeError
from easytrain.models.hf_files import quiet, require

# a transformer block's parameters: bert.encoder.layer.3.…, model.layers.3.…, h.3.…, blocks.3.…
BLOCK = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")
_BLOCK_MODULE = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)$")


# which weights train ----------------------------------------------------------------------
def head_names(model: nn.Module) -> list[str]:
    """Top-level modules outside the pretrained base (classifier, pre_classifier, score …)."""
    prefix = model.base_model_prefix
    return [
        name
        for name, child in model.named_children()
        if name != prefix and any(True for _ in child.parameters())
    ]


def train_only(model: nn.Module, keep: Callable[[str], bool]) -> None:
    """Freeze every parameter whose name keep() refuses."""
    for name, p in model.named_parameters():
        p.requires_grad_(keep(name))


def train_head(model: nn.Module, head: Iterable[str]) -> None:
    """`trainable: head`: only the named top-level modules train."""
    heads = set(head)
    train_only(model, lambda name: name.split(".", 1)[0] in heads)


def output_head(model: Any) -> list[str]:
    """A language model's head: the parameters of its output embeddings, by name."""
    head = {id(p) for p in model.get_output_embeddings().parameters()}
    return [name for name, p in model.named_parameters() if id(p) in head]


def blocks(model: nn.Module) -> list[str]:
    """The transformer blocks' module names, in order (bert.encoder.layer.0 …)."""
    return [name for name, _ in model.named_modules() if _BLOCK_MODULE.search(name)]


def _block_count(model: nn.Module) -> int:
    numbers = {int(BLOCK.search(f"{name}.").group(1)) for name in blocks(model)}  # type: ignore[union-attr]
    return max(numbers) + 1 if numbers else 0


def _pattern_keeps(pattern: str, name: str) -> bool:
    """A glob over the dotted name; a plain name matches whole components (attention.self)."""
    return any(fnmatchcase(name, p) for p in (pattern, f"{pattern}.*", f"*.{pattern}.*"))


def selected_layers(model: nn.Module, layers: Sequence[int | str]) -> Callable[[str], bool]:
    """keep() for `trainable: layers`: the blocks by index (-1 the last) or the parameters a
    pattern names. Raises RecipeError for an index past the blocks or a pattern matching nothing."""
    count, names = _block_count(model), [n for n, _ in model.named_parameters()]
    chosen: set[int] = set()
    for layer in layers:
        if isinstance(layer, int):
            if not -count <= layer < count:
                raise RecipeError(
                    f"model.layers: {layer} is not a block of this model: it has {count} "
                    f"({_block_list(model)}); give 0 … {count - 1}, or -1 for the last"
                )
            chosen.add(layer % count)
        elif not any(_pattern_keeps(layer, n) for n in names):
            raise RecipeError(
                f"model.layers: '{layer}' matches no weight of this model; its blocks are "
                f"{_block_list(model)} (or give indices, e.g. [-2, -1])"
            )
    patterns = [p for p in layers if isinstance(p, str)]

    def keep(name: str) -> bool:
        found = BLOCK.search(name)
        if found and int(found.group(1)) in chosen:
            return True
        return any(_pattern_keeps(p, name) for p in patterns)

    return keep


def _block_list(model: nn.Module) -> str:
    found = blocks(model)
    if not found:
        return "none found"
    return f"{found[0]} … {found[-1]}" if len(found) > 2 else ", ".join(found)


def freeze(model: Any, config: HFConfig, head: list[str], top_level: bool = True) -> None:
    """Freeze what config.trainable leaves out (all, lora: nothing here; lora wraps later).
    head: the head's top-level module names, or (top_level=False) its parameter names."""
    if config.trainable not in ("head", "layers"):
        return
    heads = set(head)

    def in_head(name: str) -> bool:
        return (name.split(".", 1)[0] if top_level else name) in heads

    if config.trainable == "head":
        train_only(model, in_head)
        return
    chosen = selected_layers(model, config.layers or [])
    train_only(model, lambda name: in_head(name) or chosen(name))


# LoRA ---------------------------------------------------------------------------------------
def linear_names(model: nn.Module) -> list[str]:
    """The last component of every linear layer's name (query, value, q_proj …)."""
    return sorted(
        {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    )


def lora(
    model: nn.Module,
    config: HFConfig,
    task_type: str | None = None,
    auto: Sequence[str] | None = None,
    keep: Sequence[str] = (),
) -> Any:  # a peft model
    """The model with low-rank adapters (peft) on config.lora.target_modules; auto: those of
    `auto` the model has, or, auto None, peft's choice for the architecture. keep: modules
    trained fully beside (a new head)."""
    require("peft")
    from peft import LoraConfig, get_peft_model

    settings, names = config.lora, linear_names(model)
    targets: list[str] | None = (
        list(settings.target_modules) if settings.target_modules != "auto" else None
    )
    if targets is None and auto is not None:
        targets = [n for n in auto if n in names]
    unknown = [t for t in targets or [] if t not in names] if auto is not None else []
    if auto is not None and (not targets or unknown):
        raise RecipeError(
            f"model.lora.target_modules: {unknown or 'auto'} matches no layer of this model; name "
            f"its linear layers, e.g. [query, value] (they are: {', '.join(names)})"
        )
    peft_config = LoraConfig(
        task_type=task_type,
        r=settings.r,
        lora_alpha=settings.alpha,  # type: ignore[arg-type]  # peft says int; it divides by r: a float works
        lora_dropout=settings.dropout,
        target_modules=targets,
        modules_to_save=list(keep) or None,
    )
    try:
        with warnings.catch_warnings():  # peft calls an alias transformers 5 deprecates
            warnings.simplefilter("ignore", FutureWarning)
            return get_peft_model(model, peft_config)
    except ValueError as exc:
        raise RecipeError(
            f"model.lora.target_modules: {str(exc).splitlines()[0][:200]}; name the layers, "
            f"e.g. [query, value] (this model's linear layers: {', '.join(names)})"
        ) from None


# gradient checkpointing ---------------------------------------------------------------------
def checkpointing(model: Any, cache_off: bool = True, inputs_need_grad: bool = False) -> None:
    """Recompute activations in the backward pass (transformers 5 renamed the call).
    cache_off: a decoder's key/value cache cannot be recomputed (a language model keeps the
    setting, for generation). inputs_need_grad: the embeddings' output requires grad, which a
    frozen base under LoRA needs."""
    if cache_off and hasattr(model.config, "use_cache"):
        model.config.use_cache = False
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    if inputs_need_grad:
        model.enable_input_require_grads()


# export -------------------------------------------------------------------------------------
def merged(model: nn.Module, adapter: Path | None = None) -> Any:  # transformers: save_pretrained
    """A CPU copy of the transformers model with any LoRA adapters merged into its weights;
    adapter: where to save the adapters alone first (peft's format), for a LoRA model."""
    network: Any = copy.deepcopy(model).cpu()
    if hasattr(network, "merge_and_unload"):
        if adapter is not None:
            shutil.rmtree(adapter, ignore_errors=True)
            with quiet():
                network.save_pretrained(adapter)  # adapter_config.json, adapter_model.safetensors
        network = network.merge_and_unload()
    return network.eval()


def write_folder(folder: Path, write: Callable[[Path], None]) -> None:
    """A folder written by write(tmp) beside, then moved into place (no half-written export)."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet():
        write(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def load_exported(folder: Path, auto_class: str) -> Any:
    """An exported folder loaded by transformers alone (auto_class: e.g.
    AutoModelForSequenceClassification), as a check that the export stands on its own."""
    require()
    import transformers

    with quiet():
        return getattr(transformers, auto_class).from_pretrained(
            folder, local_files_only=True, use_safetensors=True
        )
