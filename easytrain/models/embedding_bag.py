"""Text classifier: the mean of the token embeddings, padding left out, then an MLP."""

from __future__ import annotations

import torch
from torch import nn

from easytrain.config.model import EmbeddingBagConfig
from easytrain.errors import RecipeError
from easytrain.models import ModelSpec

PAD = 0  # data/text.py pads with id 0


class EmbeddingBagClassifier(nn.Module):
    def __init__(self, vocab_size: int, config: EmbeddingBagConfig, outputs: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, config.embed_dim, padding_idx=PAD)
        layers: list[nn.Module] = [nn.Dropout(config.dropout)] if config.dropout else []
        width = config.embed_dim
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if config.dropout:
                layers.append(nn.Dropout(config.dropout))
            width = hidden
        self.head = nn.Sequential(*layers, nn.Linear(width, outputs))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # A masked mean rather than nn.EmbeddingBag: the same numbers, and it exports everywhere.
        mask = (ids != PAD).unsqueeze(-1).to(self.embed.weight.dtype)
        total = (self.embed(ids) * mask).sum(dim=1)
        return self.head(total / mask.sum(dim=1).clamp(min=1.0))


def build(config: EmbeddingBagConfig, spec: ModelSpec) -> nn.Module:
    if spec.vocab_size is None or len(spec.input_shape) != 1:
        raise RecipeError(
            "model.type embedding_bag reads token ids: use it with data.source: text "
            f"(these inputs have shape {list(spec.input_shape)})"
        )
    return EmbeddingBagClassifier(spec.vocab_size, config, spec.num_outputs)
