"""`model: {type: hf}`: a pretrained Hugging Face model, fine-tuned fully, head-only or with LoRA.

No transformers import here: `validate` and `schema` stay fast. The model's own tokenizer replaces
easytrain's vocabulary, so the text source's tokenizer settings do not apply (see `hf_problems`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator

from easytrain.config.base import Section

# data sources an hf model reads, and the keys of each that its own tokenizer makes moot
HF_SOURCES: dict[str, tuple[str, ...]] = {
    "text": ("level", "lowercase", "vocab_size", "min_freq", "max_length"),
    "chat": (),  # a causal language model (models.hf_causal); data.max_length sets the tokens
    "image_folder": ("image_size", "channels"),  # an image classifier (models.hf_image)
}
# preprocess settings that an image model's own image processor replaces (data.hf_images)
PROCESSOR_SETS = ("normalize", "rescale", "mean", "std")


class LoraConfig(Section):
    """Low-rank adapters (peft): only small matrices beside the chosen layers are trained."""

    r: PositiveInt = 8
    """Rank of each adapter: its matrices are (width × r) and (r × width)."""
    alpha: PositiveFloat = 16
    """Scaling: the adapter's output is multiplied by alpha / r."""
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    """Dropout on the adapter's input."""
    target_modules: Literal["auto"] | list[str] = "auto"
    """Layers that get adapters, by name (e.g. [query, value]); auto: peft's choice for the architecture."""


class HFConfig(Section):
    """A pretrained Hugging Face transformers model from a local folder (or a hub id in the cache)."""

    type: Literal["hf"] = "hf"
    """The model: mlp, cnn, hf, … or a registered plugin model."""
    name: str
    """A local folder with config.json, model.safetensors and the tokenizer, or a hub id (e.g. sentence-transformers/all-MiniLM-L6-v2) found in the Hugging Face cache."""
    revision: str | None = None
    """Hub ids: the branch, tag or commit of the files in the cache; none: main."""
    max_length: PositiveInt = 128
    """Tokens per example, at most: longer texts are cut. Batches are padded only to their longest text."""
    trainable: Literal["all", "head", "layers", "lora"] = "all"
    """all: fine-tune every weight; head: only the new classification head; layers: the blocks (or weights) that model.layers names, plus the head; lora: low-rank adapters plus the head."""
    layers: list[int | str] | None = Field(None, min_length=1, validate_default=True)
    """trainable: layers: the transformer blocks to fine-tune by index (-1 the last, e.g. [-2, -1]) or weights by name pattern (e.g. embeddings, '*.attention.*'); the rest stays frozen."""
    lora: LoraConfig = LoraConfig()
    """trainable: lora: the adapters' settings."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass instead of keeping them: less memory, about a third slower."""
    quantize: Literal["none", "4bit", "8bit"] = "none"
    """Language models on CUDA: hold the frozen base weights in 4 or 8 bits (bitsandbytes) and train LoRA adapters beside them."""
    dropout: float | None = Field(None, ge=0.0, lt=1.0)
    """Dropout inside the model (hidden_dropout_prob or the architecture's equivalent); none: the model's own."""
    trust_remote_code: bool = False
    """Run Python code shipped in the model's folder (models transformers does not know); only with --allow-code."""

    @field_validator("layers")
    @classmethod
    def _layers_for_trainable(cls, value: list[int | str] | None, info: ValidationInfo) -> Any:
        trainable = info.data.get("trainable")
        if trainable == "layers" and value is None:
            raise ValueError(
                "trainable: layers needs the blocks to fine-tune, e.g. layers: [-2, -1] "
                "(the last two) or name patterns"
            )
        if trainable not in ("layers", None) and value is not None:
            raise ValueError(
                "'layers' is read with trainable: layers only (the blocks to fine-tune); set "
                "trainable: layers or remove it"
            )
        return value

    @field_validator("trust_remote_code")
    @classmethod
    def _allowed(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not (info.context or {}).get("allow_code"):
            raise ValueError(
                "trust_remote_code runs Python code from the model's folder; a recipe can only "
                "run code you allow with --allow-code"
            )
        return value


def hf_problems(data: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Settings that a recipe's hf model makes moot or that it cannot read, from the raw recipe."""
    model = data.get("model")
    if not isinstance(model, dict) or model.get("type") != "hf":
        return []
    found = data.get("data")
    source_section: dict[str, Any] = found if isinstance(found, dict) else {}
    source = source_section.get("source", "builtin")
    if source not in HF_SOURCES:
        return [
            (
                ("model", "type"),
                f"hf models read {', '.join(HF_SOURCES)} data; this recipe's data.source is "
                f"'{source}'",
            )
        ]
    from easytrain.config.data import DataSource, ImageFolderData, TextData

    sections: dict[str, type[DataSource]] = {"text": TextData, "image_folder": ImageFolderData}
    section = sections.get(source)
    fields = section.model_fields if section is not None else {}
    problems: list[tuple[tuple[str, ...], str]] = []
    for key in HF_SOURCES[source]:
        # the resolved recipe (recipe.yaml of a run) lists every default: only a changed one
        # is a setting the user made
        default = fields[key].default if key in fields else None
        if key in source_section and source_section[key] != default:
            instead = (
                "model.max_length sets the tokens per example"
                if key == "max_length"
                else _IMAGE_INSTEAD.get(key, "the model's own tokenizer splits the text")
            )
            problems.append(
                (("data", key), f"'{key}' does not apply with model.type hf: {instead}; remove it")
            )
    if source == "image_folder":
        problems += _processor_problems(data.get("preprocess"))
    return problems


_IMAGE_INSTEAD = {
    "image_size": "the model's image processor sets the size",
    "channels": "the model's image processor takes RGB images",
}


def _processor_problems(section: Any) -> list[tuple[tuple[str, ...], str]]:
    """preprocess settings that an hf image model's processor makes moot (changed ones only)."""
    if not isinstance(section, dict):
        return []
    from easytrain.config.preprocess import PreprocessConfig

    fields = PreprocessConfig.model_fields
    return [
        (
            ("preprocess", key),
            f"'{key}' does not apply with model.type hf: the model's image processor rescales "
            "and normalizes the images as in its pretraining; remove it",
        )
        for key in PROCESSOR_SETS
        if key in section and section[key] != fields[key].default
    ]


def quantize_problems(data: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """model.quantize needs a run on CUDA: refused at validate time when the recipe's device
    says otherwise (device: auto is judged when the run starts, on the machine it runs on)."""
    model = data.get("model")
    if not isinstance(model, dict) or model.get("type") != "hf":
        return []
    quantize, device = model.get("quantize", "none"), data.get("device", "auto")
    if quantize in (None, "none") or not isinstance(device, str):
        return []
    if device == "auto" or device.startswith("cuda"):
        return []
    return [
        (
            ("model", "quantize"),
            f"{quantize} base weights need a CUDA GPU (bitsandbytes), and this recipe's device "
            f"is {device}; set device: auto (or cuda), or model.quantize: none",
        )
    ]


def hf_folder_problems(data: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """An hf model.name written as a path (./x, ../x, /x, ~/x) must be a folder; a name like
    org/model may be a hub id, looked up when the run starts."""
    model = data.get("model")
    if not isinstance(model, dict) or model.get("type") != "hf":
        return []
    name = model.get("name")
    if not isinstance(name, str) or not name.startswith((".", "/", "~")):
        return []
    from pathlib import Path

    folder = Path(name).expanduser()
    if folder.is_dir():
        return []
    why = "is a file; give the folder that holds it" if folder.exists() else "no such folder"
    return [(("model", "name"), f"{why}: {name} (relative paths start at {Path.cwd()})")]
