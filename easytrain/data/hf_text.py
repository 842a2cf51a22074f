"""`data.source: text` read by a pretrained model's own tokenizer (model.type: hf).

The tokenizer comes with the model, so nothing is fitted on the training rows: every text is
tokenized once, into one int64 matrix right-padded with -1 (models.hf_files.PAD) to the longest text.
The training loop trims each batch to its own longest text (engine.batches). The tokenizer's
files are saved in the run folder (tokenizer/), so predict and serve tokenize new texts alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from easytrain.config.data import TextData
from easytrain.config.hf import HFConfig
from easytrain.data.frames import read_table, require_columns, row_locator
from easytrain.data.raw import RawData
from easytrain.data.table import drop_empty_targets, target_values
from easytrain.errors import RecipeError, RunFailed

TOKENIZER_DIR = "tokenizer"  # in the run folder


def pack(ids: list[list[int]]) -> np.ndarray:
    """Token-id lists → one (n, longest) int64 matrix, right-padded with -1."""
    from easytrain.models.hf_files import PAD

    longest = max((len(row) for row in ids), default=1)
    out = np.full((len(ids), max(longest, 1)), PAD, dtype=np.int64)
    for i, row in enumerate(ids):
        out[i, : len(row)] = row
    return out


def settings(tokenizer: Any, data: TextData, model: HFConfig, model_config: Any) -> dict[str, Any]:
    """The `text` encoding of the data card: what predict needs to tokenize new texts."""
    from easytrain.models.hf_files import PAD, pad_id

    return {
        "column": data.text,
        "tokenizer": TOKENIZER_DIR,  # a folder of the run: tokenizer.json, tokenizer_config.json
        "tokenizer_class": type(tokenizer).__name__,
        "max_length": model.max_length,
        "pad_id": PAD,  # in the model's inputs; the model itself pads with pad_token_id
        "pad_token_id": pad_id(tokenizer),
        "vocab_size": len(tokenizer),
        "model_config": model_config.to_dict(),
    }


def encode(texts: list[str], saved: dict[str, Any], tokenizer: Any) -> np.ndarray:
    """New texts → the model's inputs, with a run's tokenizer and settings (predict, serve)."""
    from easytrain.models.hf_files import tokenize

    return pack(tokenize(tokenizer, texts, saved["max_length"]))


def load(data: TextData, model: HFConfig, save_to: Path | None = None) -> RawData:
    """Texts tokenized by model's tokenizer; its files go to save_to when given."""
    from easytrain.models.hf_files import load_config, load_tokenizer, tokenize

    if not isinstance(data, TextData):
        raise RecipeError(f"model.type hf reads data.source: text, not {data.source}")
    frame = read_table(data.path)
    where = row_locator(data.path)
    require_columns(frame, data.path, {"data.text": [data.text], "data.target": [data.target]})
    notes: list[str] = []
    frame = drop_empty_targets(frame, data.target, notes)
    texts = []
    for row, value in frame[data.text].items():
        text = "" if pd.isna(value) else str(value)
        if not text.strip():
            raise RunFailed(f"{where(row)}: the text column '{data.text}' is empty")
        texts.append(text)
    y, task, classes = target_values(frame, data.target, data.task, data.path, where)
    tokenizer = load_tokenizer(model)
    ids = pack(tokenize(tokenizer, texts, model.max_length))
    if save_to is not None:
        tokenizer.save_pretrained(save_to)
    rows = frame.index.to_numpy()
    raw = RawData(
        ids,
        y,
        task,
        classes=classes,
        description=str(data.path),
        notes=notes,
        locate=lambda i: where(int(rows[i])),
    )
    raw.encoding = {"text": settings(tokenizer, data, model, load_config(model))}
    lengths = (ids >= 0).sum(axis=1)
    raw.notes.append(
        f"tokenized {len(texts):,} texts with {type(tokenizer).__name__} from {model.name}: "
        f"{int(lengths.mean())} tokens on average, longest {int(lengths.max())} "
        f"(model.max_length {model.max_length})"
    )
    return raw
