"""Everything easytrain ships, registered by name. The one list: help, schema and runs derive from it."""

from __future__ import annotations

from pydantic import BaseModel

from easytrain.config.chat import ChatData
from easytrain.config.data import (
    BuiltinData,
    ImageFolderData,
    TableData,
    TextData,
    TorchvisionData,
)
from easytrain.config.evaluate import EvaluateConfig
from easytrain.config.export import ExportConfig
from easytrain.config.hf import HFConfig
from easytrain.config.model import CNNConfig, EmbeddingBagConfig, MLPConfig, TabularConfig
from easytrain.config.preprocess import PreprocessConfig
from easytrain.config.sequence_models import GRUConfig, LSTMConfig, TransformerConfig
from easytrain.config.train import TrainConfig
from easytrain.metrics import CATALOG
from easytrain.registry import Registry

SEQUENCE_CONFIGS: dict[str, type[BaseModel]] = {
    "lstm": LSTMConfig,
    "gru": GRUConfig,
    "transformer": TransformerConfig,
}


def register_builtins(registry: Registry) -> None:
    registry.add("data", "builtin", "easytrain.data.builtin:load", BuiltinData)
    registry.add("data", "table", "easytrain.data.table:load", TableData)
    registry.add("data", "text", "easytrain.data.text:load", TextData)
    registry.add("data", "image_folder", "easytrain.data.image_folder:load", ImageFolderData)
    registry.add("data", "torchvision", "easytrain.data.torchvision_data:load", TorchvisionData)
    registry.add("data", "chat", "easytrain.data.chat:without_model", ChatData)
    registry.add(
        "preprocess", "default", "easytrain.stages.preprocess:PreprocessStage", PreprocessConfig
    )
    registry.add("model", "mlp", "easytrain.models.mlp:build", MLPConfig)
    registry.add("model", "cnn", "easytrain.models.cnn:build", CNNConfig)
    registry.add(
        "model",
        "embedding_bag",
        "easytrain.models.embedding_bag:build",
        EmbeddingBagConfig,
        info={"inputs": "tokens"},
    )
    for name in ("lstm", "gru", "transformer"):
        registry.add(
            "model",
            name,
            f"easytrain.models.sequence:build_{name}",
            SEQUENCE_CONFIGS[name],
            info={"inputs": "tokens"},
        )
    registry.add("model", "tabular", "easytrain.models.tabular:build", TabularConfig)
    registry.add("model", "hf", "easytrain.models.hf:build", HFConfig, info={"inputs": "tokens"})
    registry.add("train", "default", "easytrain.stages.train:TrainStage", TrainConfig)
    registry.add("evaluate", "default", "easytrain.stages.evaluate:EvaluateStage", EvaluateConfig)
    registry.add("export", "default", "easytrain.stages.export:ExportStage", ExportConfig)
    for name, info in CATALOG.items():
        registry.add("metric", name, f"easytrain.metrics.compute:{name}", info=info)
