"""Text classifiers over padded token ids (pad id 0): LSTM, GRU and a transformer encoder.

No packed sequences: padding is masked where it matters (pooling, attention), which keeps the
models exportable to torch.export and ONNX.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from easytrain.config.sequence_models import GRUConfig, LSTMConfig, TransformerConfig
from easytrain.errors import RecipeError
from easytrain.models import ModelSpec

PAD = 0


def pool(states: torch.Tensor, real: torch.Tensor, how: str) -> torch.Tensor:
    """(batch, length, width) → (batch, width) over the real (not padding) positions."""
    mask = real.unsqueeze(-1).to(states.dtype)
    if how == "mean":
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    if how == "max":
        return states.masked_fill(mask == 0, torch.finfo(states.dtype).min).amax(1)
    if how == "first":
        return states[:, 0]
    last = (real.long().sum(1) - 1).clamp(min=0)  # "last": the last real token
    return states[torch.arange(states.shape[0], device=states.device), last]


class RecurrentClassifier(nn.Module):
    def __init__(
        self, cell: type[nn.Module], config: LSTMConfig | GRUConfig, vocab: int, outputs: int
    ):
        super().__init__()
        self.pooling = config.pooling
        self.embed = nn.Embedding(vocab, config.embed_dim, padding_idx=PAD)
        self.rnn = cell(
            config.embed_dim,
            config.hidden,
            num_layers=config.layers,
            batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        width = config.hidden * (2 if config.bidirectional else 1)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(width, outputs))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(self.drop(self.embed(ids)))
        return self.head(pool(states, ids != PAD, self.pooling))


class Sinusoids(nn.Module):
    def __init__(self, length: int, width: int):
        super().__init__()
        position = torch.arange(length).unsqueeze(1)
        scale = torch.exp(torch.arange(0, width, 2) * (-math.log(10000.0) / width))
        table = torch.zeros(length, width)
        table[:, 0::2] = torch.sin(position * scale)
        table[:, 1::2] = torch.cos(position * scale[: width // 2])
        self.table: torch.Tensor
        self.register_buffer("table", table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]


class Learned(nn.Module):
    def __init__(self, length: int, width: int):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(length, width))
        nn.init.normal_(self.table, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]


class TransformerClassifier(nn.Module):
    def __init__(self, config: TransformerConfig, vocab: int, length: int, outputs: int):
        super().__init__()
        self.pooling = config.pooling
        self.embed = nn.Embedding(vocab, config.embed_dim, padding_idx=PAD)
        positions = Sinusoids if config.positional == "sinusoidal" else Learned
        self.positions = positions(length, config.embed_dim)
        layer = nn.TransformerEncoderLayer(
            config.embed_dim, config.heads, config.ff_dim, config.dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.embed_dim, outputs))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        real = ids != PAD
        states = self.encoder(self.positions(self.embed(ids)), src_key_padding_mask=~real)
        return self.head(pool(states, real, self.pooling))


def _text_inputs(name: str, spec: ModelSpec) -> tuple[int, int]:
    if spec.vocab_size is None or len(spec.input_shape) != 1:
        raise RecipeError(
            f"model.type {name} reads token ids: use it with data.source: text "
            f"(these inputs have shape {list(spec.input_shape)})"
        )
    return spec.vocab_size, spec.input_shape[0]


def build_lstm(config: LSTMConfig, spec: ModelSpec) -> nn.Module:
    vocab, _ = _text_inputs("lstm", spec)
    return RecurrentClassifier(nn.LSTM, config, vocab, spec.num_outputs)


def build_gru(config: GRUConfig, spec: ModelSpec) -> nn.Module:
    vocab, _ = _text_inputs("gru", spec)
    return RecurrentClassifier(nn.GRU, config, vocab, spec.num_outputs)


def build_transformer(config: TransformerConfig, spec: ModelSpec) -> nn.Module:
    vocab, length = _text_inputs("transformer", spec)
    return TransformerClassifier(config, vocab, length, spec.num_outputs)
