"""`data.source: text`: a text column and a target column of a CSV, Parquet or JSON Lines file.

Texts become fixed-length rows of token ids (0 = padding, 1 = unknown). The vocabulary is counted
on the training rows only, once the preprocess stage has split them, and saved for predict.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd

from easytrain.config.data import TextData
from easytrain.data.frames import read_table, require_columns, row_locator
from easytrain.data.raw import Encoded, RawData
from easytrain.data.table import drop_empty_targets, target_values
from easytrain.errors import RunFailed

PAD, UNKNOWN = 0, 1
WORD = re.compile(r"\w+|[^\w\s]")  # words, and each punctuation mark on its own


def tokenize(text: str, level: str, lowercase: bool) -> list[str]:
    text = text.lower() if lowercase else text
    return WORD.findall(text) if level == "word" else list(text)


def vocabulary(texts: list[list[str]], size: int, min_freq: int) -> list[str]:
    """The most frequent tokens (ties by token), at least min_freq times, for ids 2, 3 …"""
    counts = Counter(token for tokens in texts for token in tokens)
    ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    return ranked[: size - 2]


def to_ids(texts: list[list[str]], vocab: list[str], max_length: int) -> np.ndarray:
    index = {token: i + 2 for i, token in enumerate(vocab)}
    ids = np.full((len(texts), max_length), PAD, dtype=np.int64)
    for row, tokens in enumerate(texts):
        kept = tokens[:max_length]
        ids[row, : len(kept)] = [index.get(token, UNKNOWN) for token in kept]
    return ids


def encode_texts(texts: list[str], settings: dict) -> np.ndarray:
    """New texts → token ids with a run's saved settings (the `text` encoding), for predict."""
    tokens = [tokenize(text, settings["level"], settings["lowercase"]) for text in texts]
    return to_ids(tokens, settings["vocab"], settings["max_length"])


def _texts(frame: pd.DataFrame, config: TextData, where: Callable[[int], str]) -> list[list[str]]:
    column = frame[config.text]
    texts = []
    for row, value in column.items():
        tokens = [] if pd.isna(value) else tokenize(str(value), config.level, config.lowercase)
        if not tokens:
            raise RunFailed(f"{where(row)}: the text column '{config.text}' is empty")
        texts.append(tokens)
    return texts


def load(config: TextData) -> RawData:
    frame = read_table(config.path)
    where = row_locator(config.path)
    require_columns(
        frame, config.path, {"data.text": [config.text], "data.target": [config.target]}
    )
    notes: list[str] = []
    frame = drop_empty_targets(frame, config.target, notes)
    texts = _texts(frame, config, where)
    y, task, classes = target_values(frame, config.target, config.task, config.path, where)
    rows = frame.index.to_numpy()

    def encode(train: np.ndarray, wanted: np.ndarray | None = None) -> Encoded:
        vocab = vocabulary([texts[i] for i in train], config.vocab_size, config.min_freq)
        settings = {
            "column": config.text,
            "level": config.level,
            "lowercase": config.lowercase,
            "token_pattern": WORD.pattern if config.level == "word" else None,
            "max_length": config.max_length,
            "pad_id": PAD,
            "unknown_id": UNKNOWN,
            "vocab_size": len(vocab) + 2,
            "vocab": vocab,  # id = position + 2
        }
        chosen = texts if wanted is None else [texts[i] for i in wanted]
        return Encoded(to_ids(chosen, vocab, config.max_length), {"text": settings})

    return RawData.of_rows(y, task, classes, config.path, encode, rows, where, notes)
