"""Where a pretrained Hugging Face model's files come from, and its config and tokenizer.

Files load offline first: a local folder with `local_files_only`, a hub id from the Hugging Face
cache (or a download where the network allows), weights from safetensors only, and a model's own
Python code only when the recipe says `trust_remote_code: true` under --allow-code. With
models/hf.py this is the one place that calls transformers (its APIs move between versions).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from easytrain.config.hf import HFConfig
from easytrain.errors import RecipeError, RunFailed
from easytrain.models import ModelSpec

EXTRA = "pip install 'easytrain[hf]'"
PAD = -1  # the padding of the models' token-id inputs (data.hf_text); never a real id
NEEDED = "config.json, model.safetensors, tokenizer.json and tokenizer_config.json"
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
    if not any(folder.glob("*.safetensors")):
        pickled = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt")]
        raise RecipeError(
            f"model.name: {folder} has no model.safetensors"
            + (
                f" (only {', '.join(pickled)}, pickled weights that can run code)"
                if pickled
                else ""
            )
            + "; easytrain loads weights from safetensors only: convert them once with "
            "transformers (model.save_pretrained(folder)) where you trust the file"
        )
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
        size_head(found, config, spec, classes)
    return found


def size_head(found: Any, config: HFConfig, spec: ModelSpec, classes: list[str] | None) -> None:
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
