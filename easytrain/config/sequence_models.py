"""Text classifiers over token ids: recurrent (lstm, gru) and transformer encoders."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from easytrain.config.base import Section

Pooling = Literal["last", "mean", "max"]


class _Recurrent(Section):
    embed_dim: PositiveInt = 64
    """Size of each token's embedding vector."""
    hidden: PositiveInt = 64
    """Hidden size of each recurrent layer (per direction)."""
    layers: PositiveInt = 1
    """Stacked recurrent layers."""
    bidirectional: bool = False
    """Read the text both ways."""
    pooling: Pooling = "mean"
    """How the sequence becomes one vector: last (the last real token), mean or max over real tokens."""
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    """Dropout on the embeddings, between layers and before the head."""


class LSTMConfig(_Recurrent):
    """Text: an LSTM over token embeddings; padding is masked out of the pooling."""

    type: Literal["lstm"] = "lstm"
    """The model: mlp, cnn, lstm, gru, transformer, … or a torchvision model."""


class GRUConfig(_Recurrent):
    """Text: a GRU over token embeddings; padding is masked out of the pooling."""

    type: Literal["gru"] = "gru"
    """The model: mlp, cnn, lstm, gru, transformer, … or a torchvision model."""


class TransformerConfig(Section):
    """Text: a transformer encoder with positional encoding and a padding mask."""

    type: Literal["transformer"] = "transformer"
    """The model: mlp, cnn, lstm, gru, transformer, … or a torchvision model."""
    embed_dim: PositiveInt = 64
    """Model width: the size of each token's vector (a multiple of heads)."""
    heads: PositiveInt = 4
    """Attention heads per layer."""
    layers: PositiveInt = 2
    """Encoder layers."""
    ff_dim: PositiveInt = 128
    """Width of each layer's feed-forward block."""
    positional: Literal["sinusoidal", "learned"] = "sinusoidal"
    """Position encoding: fixed sinusoids or a learned vector per position."""
    pooling: Literal["mean", "max", "first"] = "mean"
    """How the sequence becomes one vector: mean or max over real tokens, or the first token."""
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    """Dropout inside the encoder and before the head."""

    @model_validator(mode="after")
    def _divisible(self) -> TransformerConfig:
        if self.embed_dim % self.heads:
            raise ValueError(
                f"embed_dim ({self.embed_dim}) must be a multiple of heads ({self.heads})"
            )
        return self
