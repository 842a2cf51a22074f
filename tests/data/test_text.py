"""text: tokens, a vocabulary from training rows only, padding, and the embedding_bag model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from easytrain.config.data import TextData
from easytrain.config.model import EmbeddingBagConfig
from easytrain.data.text import load, tokenize
from easytrain.errors import RecipeError, RunFailed
from easytrain.models import ModelSpec
from easytrain.models.embedding_bag import build


def write(tmp_path: Path, texts: list, labels: list, name: str = "texts.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame({"text": texts, "label": labels})
    if name.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)
    return path


def test_tokenize_words_and_characters() -> None:
    assert tokenize("Hello, World!", "word", True) == ["hello", ",", "world", "!"]
    assert tokenize("Hi you", "char", False) == ["H", "i", " ", "y", "o", "u"]


def test_vocabulary_comes_from_training_rows_only(tmp_path: Path) -> None:
    path = write(tmp_path, ["good good film", "bad film", "good", "awful unseen"], [1, 0, 1, 0])
    raw = load(TextData(path=path, target="label", max_length=4))
    encoded = raw.encode(np.array([0, 1, 2]))
    text = encoded.encoding["text"]
    assert text["vocab"] == ["good", "film", "bad"]  # by count, ties by token
    assert text["vocab_size"] == 5
    assert encoded.x.dtype == np.int64
    assert encoded.x.tolist() == [[2, 2, 3, 0], [4, 3, 0, 0], [2, 0, 0, 0], [1, 1, 0, 0]]


def test_vocab_size_min_freq_and_max_length(tmp_path: Path) -> None:
    path = write(tmp_path, ["a a a b b c d", "a b c e", "a"], [0, 1, 0])
    raw = load(TextData(path=path, target="label", vocab_size=4, min_freq=2, max_length=3))
    encoded = raw.encode(np.arange(3))
    assert encoded.encoding["text"]["vocab"] == ["a", "b"]
    assert encoded.x.tolist() == [[2, 2, 2], [2, 3, 1], [2, 0, 0]]


def test_empty_text_is_named_by_line(tmp_path: Path) -> None:
    path = write(tmp_path, ["fine", "also fine", "   ", "ok"], [0, 1, 0, 1])
    with pytest.raises(RunFailed, match=rf"{path}:4: the text column 'text' is empty"):
        load(TextData(path=path, target="label"))
    path = write(tmp_path, ["fine", None, "ok"], [0, 1, 0], name="texts.jsonl")
    with pytest.raises(RunFailed, match=rf"{path}:2: the text column 'text' is empty"):
        load(TextData(path=path, target="label"))


def test_missing_text_column_is_a_recipe_error(tmp_path: Path) -> None:
    path = write(tmp_path, ["a", "b"], [0, 1])
    with pytest.raises(RecipeError, match=r"no column 'body' \(data.text\)"):
        load(TextData(path=path, text="body", target="label"))


def test_embedding_bag_ignores_padding() -> None:
    torch.manual_seed(0)
    model = build(
        EmbeddingBagConfig(dropout=0.0), ModelSpec((6,), 3, "classification", vocab_size=20)
    ).eval()
    short = torch.tensor([[5, 7, 9, 0, 0, 0]])
    same = torch.tensor([[5, 7, 9]])
    assert torch.allclose(model(short), model(same))
    assert not torch.allclose(model(short), model(torch.tensor([[5, 7, 9, 1, 0, 0]])))
    assert model(torch.zeros(2, 6, dtype=torch.int64)).shape == (2, 3)  # all padding: no NaN
    assert torch.isfinite(model(torch.zeros(1, 6, dtype=torch.int64))).all()


def test_embedding_bag_needs_token_inputs() -> None:
    with pytest.raises(RecipeError, match="embedding_bag reads token ids"):
        build(EmbeddingBagConfig(), ModelSpec((1, 8, 8), 3, "classification"))
