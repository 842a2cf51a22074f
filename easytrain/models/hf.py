"""Pretrained Hugging Face models as ordinary easytrain models: token ids in, logits out.

Every call into transformers and peft lives here (their APIs move between versions). Files load
offline first: a local folder with `local_files_only`, a hub id from the Hugging Face cache (or a
download where the network allows), weights from safetensors only, and a model's own Python code
only when the recipe says `trust_remote_code: true` under --allow-code.

Inputs are token ids right-padded with -1 (see data.hf_text): the attention mask is `ids >= 0`,
so a batch trimmed to its longest text needs nothing else beside it.
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.config.hf import HFConfig
from easytrain.errors import RecipeError, RunFailed
from easytrain.models import ModelSpec

EXTRA = "pip install 'easytrain[hf]'"
NEEDED = "config.json, model.safetensors, tokenizer.json and tokenizer_config.json"
PAD = -1  # the padding of our token-id inputs; never a real id
_LAYER = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")
_DROPOUTS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout")


def require(module: str = "transformers") -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise RunFailed(f"model.type hf needs {module}: {EXTRA}") from None


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep transformers' load reports and progress bars off the console; our log says it."""
    require()
    from transformers.utils import logging

    level, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def model_folder(config: HFConfig) -> Path:
    """The folder holding the model's files: config.name itself, or its snapshot in the hub cache."""
    local = Path(config.name).expanduser()
    if local.is_dir():
        return local
    if _looks_like_path(config.name) or local.exists():
        raise RecipeError(
            f"model.name: no such folder: {config.name} (relative paths start at {Path.cwd()})"
        )
    require()
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model"]
    try:
        return Path(snapshot_download(config.name, revision=config.revision, local_files_only=True))
    except Exception:  # not in the cache: download it, where there is a network
        pass
    try:
        with quiet():
            found = snapshot_download(
                config.name, revision=config.revision, allow_patterns=patterns
            )
        return Path(found)
    except Exception as exc:
        raise RecipeError(
            f"model.name: '{config.name}' is not a local folder and not in the Hugging Face cache, "
            f"and downloading it failed ({type(exc).__name__}). Offline, put {NEEDED} in a folder "
            f"(e.g. models/{config.name.rsplit('/', 1)[-1]}/) and set model.name to that folder; "
            f"online, `huggingface-cli download {config.name}` fills the cache"
        ) from None


def _check_folder(folder: Path, config: HFConfig) -> dict[str, Any]:
    """config.json as data, after the checks that need no transformers: files, remote code."""
    file = folder / "config.json"
    if not file.is_file():
        raise RecipeError(f"model.name: {folder} has no config.json; a model folder holds {NEEDED}")
    saved = json.loads(file.read_text())
    from transformers import CONFIG_MAPPING

    if saved.get("model_type") not in CONFIG_MAPPING and not config.trust_remote_code:
        code = " (its auto_map names Python files in the folder)" if "auto_map" in saved else ""
        raise RecipeError(
            f"model.name: {folder} is a '{saved.get('model_type')}' model, which transformers "
            f"does not know: it needs the folder's own Python code{code}. If you trust it, set "
            "model.trust_remote_code: true and pass --allow-code"
        )
    return saved


def load_config(
    config: HFConfig, spec: ModelSpec | None = None, classes: list[str] | None = None
) -> Any:
    """The model's transformers config, with the head sized for this data (when spec is given)."""
    require()
    from transformers import AutoConfig

    folder = model_folder(config)
    _check_folder(folder, config)
    with quiet():
        found = AutoConfig.from_pretrained(
            folder, local_files_only=True, trust_remote_code=config.trust_remote_code
        )
    if spec is not None:
        _size_head(found, config, spec, classes)
    return found


def _size_head(found: Any, config: HFConfig, spec: ModelSpec, classes: list[str] | None) -> None:
    found.num_labels = spec.num_outputs
    found.problem_type = (
        "regression" if spec.task == "regression" else "single_label_classification"
    )
    if classes is not None and len(classes) == spec.num_outputs:
        found.id2label = dict(enumerate(classes))
        found.label2id = {name: i for i, name in enumerate(classes)}
    if config.dropout is not None:
        for key in _DROPOUTS:
            if hasattr(found, key):
                setattr(found, key, config.dropout)


def config_from_dict(saved: dict[str, Any]) -> Any:
    """A config saved in a run's data card, back (for predict and export without the model folder)."""
    from transformers import AutoConfig

    return AutoConfig.for_model(**saved)


# tokenizers --------------------------------------------------------------------------------
def load_tokenizer(config: HFConfig | None = None, folder: Path | None = None) -> Any:
    """The model's own fast tokenizer: from its folder (or a run's saved copy, folder)."""
    require()
    from transformers import AutoTokenizer

    if folder is None:
        assert config is not None
        folder = model_folder(config)
    remote = bool(config and config.trust_remote_code)
    try:
        with quiet():
            tokenizer = AutoTokenizer.from_pretrained(
                folder, local_files_only=True, trust_remote_code=remote
            )
    except (OSError, ValueError) as exc:
        raise RecipeError(
            f"model.name: cannot load a tokenizer from {folder} ({str(exc).splitlines()[0][:200]}); "
            "the folder needs tokenizer.json (a fast tokenizer) and tokenizer_config.json"
        ) from None
    if getattr(tokenizer, "backend_tokenizer", None) is None:
        raise RecipeError(f"model.name: {folder} has no fast tokenizer (tokenizer.json)")
    return tokenizer


def tokenize(tokenizer: Any, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, special tokens included, cut at max_length; no padding."""
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def pad_id(tokenizer: Any) -> int:
    found = tokenizer.pad_token_id
    return int(found) if found is not None else 0


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
            found = _LAYER.search(name)
            if found:
                depths[id(p)] = self.layers - int(found.group(1))
            elif "embed" in name:
                depths[id(p)] = self.layers + 1
            else:
                depths[id(p)] = 0
        return depths


def _head_names(model: nn.Module) -> list[str]:
    """Top-level modules outside the pretrained base (classifier, pre_classifier, score …)."""
    prefix = model.base_model_prefix
    return [
        name
        for name, child in model.named_children()
        if name != prefix and any(True for _ in child.parameters())
    ]


def _lora(model: nn.Module, config: HFConfig) -> nn.Module:
    require("peft")
    from peft import LoraConfig, get_peft_model

    lora = config.lora
    targets = None if lora.target_modules == "auto" else list(lora.target_modules)
    settings = LoraConfig(
        task_type="SEQ_CLS",
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        modules_to_save=_head_names(model),
    )
    try:
        with warnings.catch_warnings():  # peft calls an alias transformers 5 deprecates
            warnings.simplefilter("ignore", FutureWarning)
            return get_peft_model(model, settings)
    except ValueError as exc:
        linear = sorted(
            {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
        )
        raise RecipeError(
            f"model.lora.target_modules: {str(exc).splitlines()[0][:200]}; name the layers, "
            f"e.g. [query, value] (this model's linear layers: {', '.join(linear)})"
        ) from None


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
        _size_head(found, config, spec, classes)
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
    if config.trainable == "head":
        heads = _head_names(model)
        for name, p in model.named_parameters():
            p.requires_grad_(name.split(".", 1)[0] in heads)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.trainable == "lora":
        model = _lora(model, config)
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


def merged(model: nn.Module) -> nn.Module:
    """The transformers model with any LoRA adapters merged into its weights (a copy)."""
    import copy

    inner = copy.deepcopy(_inner(model).model).cpu()
    if hasattr(inner, "merge_and_unload"):
        inner = inner.merge_and_unload()
    return inner.eval()


def save_hf_folder(model: nn.Module, folder: Path) -> None:
    """export/hf/: a folder transformers loads by itself (config.json, model.safetensors and the
    tokenizer, from the run folder's tokenizer/), written beside and then moved into place."""
    import shutil

    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet():
        merged(model).save_pretrained(tmp)
        load_tokenizer(folder=folder.parent.parent / "tokenizer").save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def load_hf_folder(folder: Path, architecture: nn.Module) -> nn.Module:
    """An exported folder loaded by transformers alone, in the run's wrapper (ids → logits)."""
    require()
    from transformers import AutoModelForSequenceClassification

    with quiet():
        loaded = AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, use_safetensors=True
        )
    _inner(architecture).model = loaded
    return architecture.eval()
