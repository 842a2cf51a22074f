"""The whole recipe, assembled from the sections and from what the registry knows.

`Recipe` types every section with the built-in configs, for the code that reads it. The class that
actually validates a file is built by `recipe_model(registry)`: each section becomes a union of
every registered implementation (plugins included), chosen by its `type:` (`source:` for data).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, Discriminator, Field, Tag, create_model, model_validator

from easytrain.config.backbones import TorchvisionConfig, torchvision_models
from easytrain.config.base import Section, Seed
from easytrain.config.chat import ChatData
from easytrain.config.data import DataConfig
from easytrain.config.evaluate import EvaluateConfig
from easytrain.config.export import ExportConfig
from easytrain.config.hf import HFConfig
from easytrain.config.model import (
    CNNConfig,
    CustomModelConfig,
    EmbeddingBagConfig,
    MLPConfig,
    TabularConfig,
)
from easytrain.config.preprocess import PreprocessConfig
from easytrain.config.sequence_models import GRUConfig, LSTMConfig, TransformerConfig
from easytrain.config.track import TrackConfig
from easytrain.config.train import TrainConfig
from easytrain.config.tune import TuneConfig
from easytrain.registry import Kind, Registry

# Every built-in model config, for the code that reads recipe.model (plugins add more at run time)
ModelConfig = (
    MLPConfig
    | CNNConfig
    | EmbeddingBagConfig
    | LSTMConfig
    | GRUConfig
    | TransformerConfig
    | TabularConfig
    | HFConfig
    | TorchvisionConfig
    | CustomModelConfig
)
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
TORCHVISION_TAG = (
    TorchvisionConfig.union_tag
)  # the member for `type: resnet18` and every torchvision model
IMPORT_TAG = CustomModelConfig.union_tag  # the member for `type: package.module:Class`


def _run_name(name: str) -> str:
    if not RUN_NAME.match(name) or ".." in name:
        raise ValueError(
            f"'{name}' is not a plain folder name; use letters, digits, '-', '_' and '.' "
            "(it names the folder under runs/)"
        )
    return name


def _device(device: str) -> str:
    if not DEVICE.match(device):
        raise ValueError(f"'{device}' is not a device; use auto, cpu, cuda, cuda:N or mps")
    return device


class Recipe(Section):
    """A recipe: data → preprocess → model → train → evaluate → export."""

    name: Annotated[str, AfterValidator(_run_name)]
    """Names the run folder: runs/<name>/<timestamp>/. Defaults to the recipe's file name."""
    seed: Seed = 0
    """Seeds data splits, initialisation and shuffling: the same seed gives the same run on CPU."""
    device: Annotated[str, AfterValidator(_device)] = "auto"
    """auto (CUDA when available, else CPU), cpu, cuda, cuda:N or mps."""
    data: DataConfig | ChatData
    """Where examples come from."""
    preprocess: PreprocessConfig = PreprocessConfig()
    """How examples become model inputs."""
    model: ModelConfig = MLPConfig()
    """The network; its output layer is sized from the data."""
    train: TrainConfig = TrainConfig()
    """How the model is optimised."""
    evaluate: EvaluateConfig = EvaluateConfig()
    """Metrics and quality gates."""
    export: ExportConfig | None = None
    """Export formats; left out, nothing is exported."""
    tune: TuneConfig | None = None
    """Hyper-parameter search for `easytrain tune`; `easytrain run` ignores it."""
    track: TrackConfig | None = None
    """Experiment trackers beside TensorBoard (MLflow); left out, only the run folder records the run."""

    @model_validator(mode="after")
    def _lora_for_language_models(self) -> Recipe:
        """A language model (data.source chat) trains LoRA adapters unless model.trainable says
        otherwise: fine-tuning all its weights needs several times the memory."""
        model = self.model
        chat = getattr(self.data, "source", None) == "chat"
        if chat and isinstance(model, HFConfig) and "trainable" not in model.model_fields_set:
            object.__setattr__(self, "model", model.model_copy(update={"trainable": "lora"}))
        return self


# section → (registry kind, discriminating key, default implementation)
SECTIONS: dict[str, tuple[Kind, str, str]] = {
    "data": ("data", "source", "builtin"),
    "preprocess": ("preprocess", "type", "default"),
    "model": ("model", "type", "mlp"),
    "train": ("train", "type", "default"),
    "evaluate": ("evaluate", "type", "default"),
    "export": ("export", "type", "default"),
}


def _discriminator(key: str, default: str, registered: frozenset[str]) -> Discriminator:
    def tag(value: Any) -> str | None:
        found = value.get(key, default) if isinstance(value, dict) else getattr(value, key, default)
        if not isinstance(found, str):
            return None if found is None else str(found)
        if ":" in found:
            return IMPORT_TAG
        # only model types can name torchvision models (and no other section pays for the list)
        if registered and found not in registered and found in torchvision_models():
            return TORCHVISION_TAG
        return found

    return Discriminator(tag)


def _section_type(registry: Registry, kind: Kind, key: str, default: str) -> Any:
    members = [
        Annotated[c.config, Tag(c.name)]
        for c in registry
        if c.kind == kind and c.config is not None
    ]
    if kind == "model":
        members.append(Annotated[CustomModelConfig, Tag(IMPORT_TAG)])
        members.append(Annotated[TorchvisionConfig, Tag(TORCHVISION_TAG)])
    registered = frozenset(registry.names(kind)) if kind == "model" else frozenset()
    return Annotated[Union[tuple(members)], _discriminator(key, default, registered)]  # noqa: UP007


@cache
def recipe_model(registry: Registry) -> type[Recipe]:
    """The Recipe class that validates against everything `registry` knows."""
    fields: dict[str, Any] = {}
    for section, (kind, key, default) in SECTIONS.items():
        annotation = _section_type(registry, kind, key, default)
        field = Recipe.model_fields[section]
        if section == "data":
            fields[section] = (annotation, Field(description=field.description))
        elif section == "export":
            fields[section] = (annotation | None, Field(None, description=field.description))
        else:
            fields[section] = (
                annotation,
                Field(default_factory=type(field.default), description=field.description),
            )
    return create_model("Recipe", __base__=Recipe, __doc__=Recipe.__doc__, **fields)


StageName = Literal["preprocess", "model", "train", "evaluate", "export"]
