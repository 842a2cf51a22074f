"""Tables: an embedding per categorical column, concatenated with the numeric columns, then an MLP.

The inputs are the table encoder's columns with `data.categorical: index`: numeric columns
first, then one column of category numbers per categorical column (0 = unknown).
"""

from __future__ import annotations

import torch
from torch import nn

from easytrain.config.model import TabularConfig
from easytrain.errors import RecipeError
from easytrain.models import ACTIVATIONS, ModelSpec


class TabularNet(nn.Module):
    def __init__(
        self, numeric: int, cardinalities: tuple[int, ...], config: TabularConfig, outputs: int
    ):
        super().__init__()
        self.numeric = numeric
        embeddings = [
            nn.Embedding(count, config.embed_dim or min(16, (count + 1) // 2))
            for count in cardinalities
        ]
        self.embeddings = nn.ModuleList(embeddings)
        width = numeric + sum(e.embedding_dim for e in embeddings)
        layers: list[nn.Module] = [nn.Dropout(config.dropout)] if config.dropout else []
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), ACTIVATIONS[config.activation]()]
            if config.dropout:
                layers.append(nn.Dropout(config.dropout))
            width = hidden
        self.mlp = nn.Sequential(*layers, nn.Linear(width, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = x[:, self.numeric :].round().long()
        parts = [x[:, : self.numeric]]
        parts += [embed(codes[:, i]) for i, embed in enumerate(self.embeddings)]
        return self.mlp(torch.cat(parts, dim=1))


def build(config: TabularConfig, spec: ModelSpec) -> nn.Module:
    if not spec.categories:
        raise RecipeError(
            "model.type tabular embeds categorical columns: use it with "
            "data.source: table and data.categorical: index (this data has none)"
        )
    numeric = spec.input_shape[0] - len(spec.categories)
    return TabularNet(numeric, spec.categories, config, spec.num_outputs)
